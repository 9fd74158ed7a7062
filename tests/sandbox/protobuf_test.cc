// Tests for sandbox/src/protobuf.cc: Kubernetes protobuf request bodies → JSON.
//
// Three sources of protobuf:
//   * bodies the real kubectl v1.32 sent (`kubectl create …` against a loopback recorder),
//     committed below as hex next to the `--dry-run=client -o json` output of the same command;
//   * live runs of the installed kubectl against the recorder in this file (skipped when kubectl
//     is absent), compared with its own dry-run output, byte for byte after re-serialisation;
//   * hand-built messages (PbWriter) for what kubectl never sends: unknown fields of every wire
//     type, timestamps, FieldsV1, packed lists, malformed and hostile input.
#include "kubeop/sandbox/protobuf.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kubeop/core/json.h"
#include "process.h"

namespace kubeop::sandbox {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Helpers.

std::string fromHex(std::string_view hex) {
  std::string out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>((nibble(hex[i]) << 4) | nibble(hex[i + 1]));
  }
  return out;
}

// Canonical compact JSON of a text (member order kept: the decoder promises Go's order).
std::string canonical(std::string_view text) {
  auto doc = json::parse(text);
  EXPECT_TRUE(doc.ok()) << doc.status().toString() << "\n" << text;
  return doc.ok() ? json::write(*doc) : std::string();
}

// Decodes and returns compact JSON, or "ERROR <code>: <message>".
std::string decodeToJson(std::string_view body) {
  auto doc = decodeKubernetesProtobuf(body);
  if (!doc.ok()) return "ERROR " + doc.status().toString();
  return json::write(*doc);
}

// A minimal protobuf writer for hand-built messages.
class PbWriter {
 public:
  PbWriter& varint(uint32_t field, uint64_t v) {
    tag(field, 0);
    putVarint(v);
    return *this;
  }
  PbWriter& bytes(uint32_t field, std::string_view v) {
    tag(field, 2);
    putVarint(v.size());
    out_.append(v);
    return *this;
  }
  PbWriter& message(uint32_t field, const PbWriter& m) { return bytes(field, m.out_); }
  PbWriter& fixed64(uint32_t field, uint64_t v) {
    tag(field, 1);
    for (int i = 0; i < 8; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  PbWriter& fixed32(uint32_t field, uint32_t v) {
    tag(field, 5);
    for (int i = 0; i < 4; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  PbWriter& startGroup(uint32_t field) { return tag(field, 3); }
  PbWriter& endGroup(uint32_t field) { return tag(field, 4); }
  PbWriter& raw(std::string_view bytes) {
    out_.append(bytes);
    return *this;
  }
  // map<string, string> entry
  PbWriter& entry(uint32_t field, std::string_view key, std::string_view value) {
    return message(field, PbWriter().bytes(1, key).bytes(2, value));
  }
  const std::string& str() const { return out_; }

  PbWriter& tag(uint32_t field, uint32_t wireType) {
    putVarint((uint64_t{field} << 3) | wireType);
    return *this;
  }
  void putVarint(uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }

 private:
  std::string out_;
};

// "k8s\0" + runtime.Unknown{typeMeta, raw, contentEncoding, contentType}.
std::string envelope(std::string_view apiVersion, std::string_view kind, std::string_view raw,
                     std::string_view contentEncoding = "", std::string_view contentType = "") {
  PbWriter u;
  u.message(1, PbWriter().bytes(1, apiVersion).bytes(2, kind))
      .bytes(2, raw)
      .bytes(3, contentEncoding)
      .bytes(4, contentType);
  return std::string("k8s\0", 4) + u.str();
}

// ObjectMeta{name} as Go writes it (every non-pointer field present, creationTimestamp empty).
PbWriter objectMeta(std::string_view name) {
  PbWriter m;
  m.bytes(1, name).bytes(2, "").bytes(3, "").bytes(4, "").bytes(5, "").bytes(6, "").varint(7, 0).bytes(8, "");
  return m;
}

// ---------------------------------------------------------------------------------------------
// Bodies captured from kubectl v1.32 (`kubectl create …`) and the dry-run JSON of the same command.

struct CreateCase {
  std::vector<std::string> args;  // after `kubectl create`
  std::string_view hex;           // the body kubectl v1.32 sent
  std::string_view json;          // `kubectl create <args> --dry-run=client -o json`
};

const std::vector<CreateCase>& createCases() {
  static const std::vector<CreateCase> cases = {

      {{"namespace", "team-a"},
       "6b3873000a0f0a02763112094e616d657370616365121e0a160a067465616d2d6112001a0022002a0032003800420012"
       "001a020a001a002200",
       R"json({"kind":"Namespace","apiVersion":"v1","metadata":{"name":"team-a","creationTimestamp":null},
      "spec":{},"status":{}})json"},
      {{"configmap", "app-config", "--from-literal=mode=prod", "--from-literal=level=3"},
       "6b3873000a0f0a0276311209436f6e6669674d617012360a1a0a0a6170702d636f6e66696712001a0022002a00320038"
       "004200120a0a056c6576656c120133120c0a046d6f6465120470726f641a002200",
       R"json({"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"app-config","creationTimestamp":null},
      "data":{"level":"3","mode":"prod"}})json"},
      {{"secret", "generic", "creds", "--from-literal=user=admin", "--from-literal=pass=s3cr3t", "--type=Opaque"},
       "6b3873000a0c0a0276311206536563726574123e0a150a05637265647312001a0022002a00320038004200120e0a0470"
       "6173731206733363723374120d0a0475736572120561646d696e1a064f70617175651a002200",
       R"json({"kind":"Secret","apiVersion":"v1","metadata":{"name":"creds","creationTimestamp":null},
      "data":{"pass":"czNjcjN0","user":"YWRtaW4="},"type":"Opaque"})json"},
      {{"secret", "docker-registry", "regcred", "--docker-server=r.example.com", "--docker-username=u",
        "--docker-password=p"},
       "6b3873000a0c0a02763112065365637265741299010a170a077265676372656412001a0022002a00320038004200125e"
       "0a112e646f636b6572636f6e6669676a736f6e12497b226175746873223a7b22722e6578616d706c652e636f6d223a7b"
       "22757365726e616d65223a2275222c2270617373776f7264223a2270222c2261757468223a2264547077227d7d7d1a1e"
       "6b756265726e657465732e696f2f646f636b6572636f6e6669676a736f6e1a002200",
       R"json({"kind":"Secret","apiVersion":"v1","metadata":{"name":"regcred","creationTimestamp":null},
      "data":{".dockerconfigjson":"eyJhdXRocyI6eyJyLmV4YW1wbGUuY29tIjp7InVzZXJuYW1lIjoidSIsInBhc3N3b3JkIjoicCIsImF1dGgiOiJkVHB3In19fQ=="},
      "type":"kubernetes.io/dockerconfigjson"})json"},
      {{"serviceaccount", "builder"},
       "6b3873000a140a027631120e536572766963654163636f756e7412190a170a076275696c64657212001a0022002a0032"
       "00380042001a002200",
       R"json({"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"builder",
      "creationTimestamp":null}})json"},
      {{"deployment", "web", "--image=nginx:1.27", "--replicas=3", "--port=8080", "--", "nginx", "-g", "daemon-off"},
       "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412d6010a1f0a0377656212001a0022002a00320038"
       "0042005a0a0a03617070120377656212a4010803120c0a0a0a0361707012037765621a89010a1c0a0012001a0022002a"
       "003200380042005a0a0a0361707012037765621269124b0a056e67696e78120a6e67696e783a312e32371a056e67696e"
       "781a022d671a0a6461656d6f6e2d6f66662a00320b0a00100018903f22002a0042006a007200800100880100900100a2"
       "01001a00320042004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000"
       "280038001a002200",
       R"json({"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","creationTimestamp":null,
      "labels":{"app":"web"}},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"creationTimestamp":null,"labels":{"app":"web"}},
      "spec":{"containers":[{"name":"nginx","image":"nginx:1.27","command":["nginx","-g",
      "daemon-off"],"ports":[{"containerPort":8080}],"resources":{}}]}},"strategy":{}},"status":{}})json"},
      {{"job", "once", "--image=busybox", "--", "echo", "hello"},
       "6b3873000a0f0a0862617463682f763112034a6f62128b010a140a046f6e636512001a0022002a003200380042001269"
       "32670a100a0012001a0022002a00320038004200125312300a046f6e6365120762757379626f781a046563686f1a0568"
       "656c6c6f2a0042006a007200800100880100900100a201001a054e65766572320042004a005200580060006800820100"
       "8a01009a0100c201001a082000280030003a001a002200",
       R"json({"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"once","creationTimestamp":null},
      "spec":{"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[{"name":"once",
      "image":"busybox","command":["echo","hello"],"resources":{}}],"restartPolicy":"Never"}}},
      "status":{}})json"},
      {{"cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *", "--restart=OnFailure", "--", "date"},
       "6b3873000a130a0862617463682f7631120743726f6e4a6f6212aa010a140a047469636b12001a0022002a0032003800"
       "4200128f010a0b2a2f35202a202a202a202a1a002a7e0a140a047469636b12001a0022002a0032003800420012663264"
       "0a100a0012001a0022002a00320038004200125012290a047469636b120762757379626f781a04646174652a0042006a"
       "007200800100880100900100a201001a094f6e4661696c757265320042004a0052005800600068008201008a01009a01"
       "00c201001a001a002200",
       R"json({"kind":"CronJob","apiVersion":"batch/v1","metadata":{"name":"tick","creationTimestamp":null},
      "spec":{"schedule":"*/5 * * * *","jobTemplate":{"metadata":{"name":"tick",
      "creationTimestamp":null},"spec":{"template":{"metadata":{"creationTimestamp":null},
      "spec":{"containers":[{"name":"tick","image":"busybox","command":["date"],"resources":{}}],
      "restartPolicy":"OnFailure"}}}}},"status":{}})json"},
      {{"role", "reader", "--verb=get,list", "--resource=pods,configmaps", "--resource-name=x"},
       "6b3873000a240a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f76311204526f6c65123c0a160a06"
       "72656164657212001a0022002a0032003800420012220a036765740a046c69737412001a04706f64731a0a636f6e6669"
       "676d6170732201781a002200",
       R"json({"kind":"Role","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"reader",
      "creationTimestamp":null},"rules":[{"verbs":["get","list"],"apiGroups":[""],"resources":["pods",
      "configmaps"],"resourceNames":["x"]}]})json"},
      {{"rolebinding", "reader-rb", "--role=reader", "--user=alice", "--serviceaccount=default:builder",
        "--group=devs"},
       "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b526f6c6542696e64696e"
       "6712c4010a190a097265616465722d726212001a0022002a00320038004200122a0a04557365721219726261632e6175"
       "74686f72697a6174696f6e2e6b38732e696f1a05616c6963652200122a0a0547726f75701219726261632e617574686f"
       "72697a6174696f6e2e6b38732e696f1a0464657673220012240a0e536572766963654163636f756e7412001a07627569"
       "6c646572220764656661756c741a290a19726261632e617574686f72697a6174696f6e2e6b38732e696f1204526f6c65"
       "1a067265616465721a002200",
       R"json({"kind":"RoleBinding","apiVersion":"rbac.authorization.k8s.io/v1",
      "metadata":{"name":"reader-rb","creationTimestamp":null},"subjects":[{"kind":"User",
      "apiGroup":"rbac.authorization.k8s.io","name":"alice"},{"kind":"Group",
      "apiGroup":"rbac.authorization.k8s.io","name":"devs"},{"kind":"ServiceAccount","name":"builder",
      "namespace":"default"}],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role",
      "name":"reader"}})json"},
      {{"clusterrole", "agg", "--aggregation-rule=foo=bar"},
       "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b436c7573746572526f6c"
       "6512250a130a0361676712001a0022002a003200380042001a0e0a0c0a0a0a03666f6f12036261721a002200",
       R"json({"kind":"ClusterRole","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"agg",
      "creationTimestamp":null},"rules":null,
      "aggregationRule":{"clusterRoleSelectors":[{"matchLabels":{"foo":"bar"}}]}})json"},
      {{"clusterrole", "pods-r", "--verb=get", "--resource=pods,deployments.apps", "--non-resource-url=/healthz"},
       "6b3873000a2b0a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f7631120b436c7573746572526f6c"
       "6512520a160a06706f64732d7212001a0022002a00320038004200120d0a0367657412001a04706f647312180a036765"
       "741204617070731a0b6465706c6f796d656e7473120f0a036765742a082f6865616c74687a1a002200",
       R"json({"kind":"ClusterRole","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"pods-r",
      "creationTimestamp":null},"rules":[{"verbs":["get"],"apiGroups":[""],"resources":["pods"]},
      {"verbs":["get"],"apiGroups":["apps"],"resources":["deployments"]},{"verbs":["get"],
      "nonResourceURLs":["/healthz"]}]})json"},
      {{"clusterrolebinding", "crb", "--clusterrole=agg", "--user=bob"},
       "6b3873000a320a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f76311212436c7573746572526f6c"
       "6542696e64696e67126e0a130a0363726212001a0022002a0032003800420012280a04557365721219726261632e6175"
       "74686f72697a6174696f6e2e6b38732e696f1a03626f6222001a2d0a19726261632e617574686f72697a6174696f6e2e"
       "6b38732e696f120b436c7573746572526f6c651a036167671a002200",
       R"json({"kind":"ClusterRoleBinding","apiVersion":"rbac.authorization.k8s.io/v1",
      "metadata":{"name":"crb","creationTimestamp":null},"subjects":[{"kind":"User",
      "apiGroup":"rbac.authorization.k8s.io","name":"bob"}],
      "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"agg"}})json"},
      {{"quota", "q", "--hard=cpu=1,memory=1Gi,pods=10", "--scopes=BestEffort"},
       "6b3873000a130a027631120d5265736f7572636551756f7461124e0a110a017112001a0022002a003200380042001237"
       "0a0a0a0363707512030a01310a0f0a066d656d6f727912050a033147690a0c0a04706f647312040a023130120a426573"
       "744566666f72741a001a002200",
       R"json({"kind":"ResourceQuota","apiVersion":"v1","metadata":{"name":"q","creationTimestamp":null},
      "spec":{"hard":{"cpu":"1","memory":"1Gi","pods":"10"},"scopes":["BestEffort"]},"status":{}})json"},
      {{"service", "clusterip", "api", "--tcp=80:8080", "--tcp=443:https"},
       "6b3873000a0d0a027631120753657276696365128d010a1f0a0361706912001a0022002a003200380042005a0a0a0361"
       "7070120361706912660a1b0a0738302d38303830120354435018502207080010903f1a0028000a220a093434332d6874"
       "747073120354435018bb03220b080110001a0568747470732800120a0a0361707012036170691a002209436c75737465"
       "7249503a00420052005a00600068001a020a001a002200",
       R"json({"kind":"Service","apiVersion":"v1","metadata":{"name":"api","creationTimestamp":null,
      "labels":{"app":"api"}},"spec":{"ports":[{"name":"80-8080","protocol":"TCP","port":80,
      "targetPort":8080},{"name":"443-https","protocol":"TCP","port":443,"targetPort":"https"}],
      "selector":{"app":"api"},"type":"ClusterIP"},"status":{"loadBalancer":{}}})json"},
      {{"service", "nodeport", "np", "--tcp=80:8080", "--node-port=30080"},
       "6b3873000a0d0a02763112075365727669636512670a1d0a026e7012001a0022002a003200380042005a090a03617070"
       "12026e7012420a1d0a0738302d38303830120354435018502207080010903f1a002880eb0112090a0361707012026e70"
       "1a0022084e6f6465506f72743a00420052005a00600068001a020a001a002200",
       R"json({"kind":"Service","apiVersion":"v1","metadata":{"name":"np","creationTimestamp":null,
      "labels":{"app":"np"}},"spec":{"ports":[{"name":"80-8080","protocol":"TCP","port":80,
      "targetPort":8080,"nodePort":30080}],"selector":{"app":"np"},"type":"NodePort"},
      "status":{"loadBalancer":{}}})json"},
      {{"service", "loadbalancer", "lb", "--tcp=5678:8080"},
       "6b3873000a0d0a027631120753657276696365126c0a1d0a026c6212001a0022002a003200380042005a090a03617070"
       "12026c6212470a1e0a09353637382d38303830120354435018ae2c2207080010903f1a00280012090a0361707012026c"
       "621a00220c4c6f616442616c616e6365723a00420052005a00600068001a020a001a002200",
       R"json({"kind":"Service","apiVersion":"v1","metadata":{"name":"lb","creationTimestamp":null,
      "labels":{"app":"lb"}},"spec":{"ports":[{"name":"5678-8080","protocol":"TCP","port":5678,
      "targetPort":8080}],"selector":{"app":"lb"},"type":"LoadBalancer"},"status":{"loadBalancer":{}}})json"},
      {{"service", "externalname", "ext", "--external-name=db.example.com"},
       "6b3873000a0d0a027631120753657276696365125d0a1f0a0365787412001a0022002a003200380042005a0a0a036170"
       "7012036578741236120a0a0361707012036578741a00220c45787465726e616c4e616d653a004200520e64622e657861"
       "6d706c652e636f6d5a00600068001a020a001a002200",
       R"json({"kind":"Service","apiVersion":"v1","metadata":{"name":"ext","creationTimestamp":null,
      "labels":{"app":"ext"}},"spec":{"selector":{"app":"ext"},"type":"ExternalName",
      "externalName":"db.example.com"},"status":{"loadBalancer":{}}})json"},
      {{"poddisruptionbudget", "pdb", "--selector=app=web", "--min-available=50%"},
       "6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e427564676574123c0a130a0370646212"
       "001a0022002a0032003800420012190a09080110001a03353025120c0a0a0a0361707012037765621a0a080018002000"
       "280030001a002200",
       R"json({"kind":"PodDisruptionBudget","apiVersion":"policy/v1","metadata":{"name":"pdb",
      "creationTimestamp":null},"spec":{"minAvailable":"50%",
      "selector":{"matchLabels":{"app":"web"}}},"status":{"disruptionsAllowed":0,"currentHealthy":0,
      "desiredHealthy":0,"expectedPods":0}})json"},
      {{"poddisruptionbudget", "pdb2", "--selector=app=web", "--max-unavailable=1"},
       "6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e427564676574123a0a140a0470646232"
       "12001a0022002a003200380042001216120c0a0a0a0361707012037765621a06080010011a001a0a0800180020002800"
       "30001a002200",
       R"json({"kind":"PodDisruptionBudget","apiVersion":"policy/v1","metadata":{"name":"pdb2",
      "creationTimestamp":null},"spec":{"selector":{"matchLabels":{"app":"web"}},"maxUnavailable":1},
      "status":{"disruptionsAllowed":0,"currentHealthy":0,"desiredHealthy":0,"expectedPods":0}})json"},
      {{"priorityclass", "high", "--value=1000", "--description=important", "--global-default=false",
        "--preemption-policy=Never"},
       "6b3873000a250a147363686564756c696e672e6b38732e696f2f7631120d5072696f72697479436c617373122d0a140a"
       "046869676812001a0022002a0032003800420010e80718002209696d706f7274616e742a054e657665721a002200",
       R"json({"kind":"PriorityClass","apiVersion":"scheduling.k8s.io/v1","metadata":{"name":"high",
      "creationTimestamp":null},"value":1000,"description":"important","preemptionPolicy":"Never"})json"},
      {{"ingress", "web", "--class=nginx", "--rule=foo.com/bar*=svc:8080,tls=my-cert", "--default-backend=defsvc:http",
        "--annotation=a=b"},
       "6b3873000a1f0a146e6574776f726b696e672e6b38732e696f2f76311207496e67726573731283010a1b0a0377656212"
       "001a0022002a0032003800420062060a016112016212600a1422120a0664656673766312080a0468747470100012120a"
       "07666f6f2e636f6d12076d792d636572741a2d0a07666f6f2e636f6d12220a200a1e0a042f626172120e220c0a037376"
       "6312050a0010903f1a0650726566697822056e67696e781a020a001a002200",
       R"json({"kind":"Ingress","apiVersion":"networking.k8s.io/v1","metadata":{"name":"web",
      "creationTimestamp":null,"annotations":{"a":"b"}},"spec":{"ingressClassName":"nginx",
      "defaultBackend":{"service":{"name":"defsvc","port":{"name":"http"}}},
      "tls":[{"hosts":["foo.com"],"secretName":"my-cert"}],"rules":[{"host":"foo.com",
      "http":{"paths":[{"path":"/bar","pathType":"Prefix","backend":{"service":{"name":"svc",
      "port":{"number":8080}}}}]}}]},"status":{"loadBalancer":{}}})json"},
  };
  return cases;
}

// A CronJob whose pod template uses most of PodSpec; `kubectl create job --from=cronjob/rich`
// copies it into a Job and sends that as protobuf.
constexpr std::string_view kRichCronJob = R"json(
{"kind":"CronJob","apiVersion":"batch/v1","metadata":{"name":"rich","namespace":"default",
"uid":"8d3a7c9e-1f2b-4c5d-9e6f-0a1b2c3d4e5f","resourceVersion":"42",
"creationTimestamp":"2024-05-06T07:08:09Z","labels":{"team":"data"}},"spec":{"schedule":"0 * * * *",
"timeZone":"Etc/UTC","concurrencyPolicy":"Forbid",
"jobTemplate":{"metadata":{"labels":{"tier":"batch"},"annotations":{"owner":"ops"}},
"spec":{"parallelism":2,"completions":4,"activeDeadlineSeconds":600,"backoffLimit":3,
"ttlSecondsAfterFinished":120,"completionMode":"Indexed","suspend":false,
"podFailurePolicy":{"rules":[{"action":"FailJob","onExitCodes":{"containerName":"main",
"operator":"In","values":[42,-7]}},{"action":"Ignore","onPodConditions":[{"type":"DisruptionTarget",
"status":"True"}]}]},"template":{"metadata":{"labels":{"app":"rich"},"annotations":{"a/b":"c"}},
"spec":{"volumes":[{"name":"cfg","configMap":{"name":"app-config","items":[{"key":"mode",
"path":"mode.txt","mode":420}],"defaultMode":292,"optional":true}},{"name":"sec",
"secret":{"secretName":"creds","defaultMode":256}},{"name":"scratch","emptyDir":{"medium":"Memory",
"sizeLimit":"64Mi"}},{"name":"host","hostPath":{"path":"/var/log","type":"Directory"}},
{"name":"data","persistentVolumeClaim":{"claimName":"data-pvc","readOnly":true}},{"name":"nfs",
"nfs":{"server":"nfs.example.com","path":"/exports"}},{"name":"csi",
"csi":{"driver":"csi.example.com","volumeAttributes":{"k":"v"},
"nodePublishSecretRef":{"name":"csi-secret"}}},{"name":"proj",
"projected":{"sources":[{"serviceAccountToken":{"audience":"vault","expirationSeconds":3600,
"path":"token"}},{"downwardAPI":{"items":[{"path":"labels","fieldRef":{"apiVersion":"v1",
"fieldPath":"metadata.labels"}}]}},{"configMap":{"name":"app-config","items":[{"key":"mode",
"path":"m"}]}},{"secret":{"name":"creds","optional":false}}],"defaultMode":420}},{"name":"dapi",
"downwardAPI":{"items":[{"path":"cpu","resourceFieldRef":{"containerName":"main",
"resource":"limits.cpu","divisor":"1m"}}]}}],"initContainers":[{"name":"init",
"image":"busybox:1.36","command":["sh","-c","true"],"resources":{},
"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File",
"imagePullPolicy":"IfNotPresent"}],"containers":[{"name":"main",
"image":"registry.example.com/app:v1","command":["/app"],"args":["--port=8080","--v=2"],
"workingDir":"/work","ports":[{"name":"http","containerPort":8080,"protocol":"TCP"},{"name":"dns",
"hostPort":5353,"containerPort":53,"protocol":"UDP","hostIP":"127.0.0.1"}],
"envFrom":[{"prefix":"CFG_","configMapRef":{"name":"app-config","optional":true}},
{"secretRef":{"name":"creds"}}],"env":[{"name":"PLAIN","value":"v"},{"name":"EMPTY"},{"name":"POD",
"valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.name"}}},{"name":"CPU",
"valueFrom":{"resourceFieldRef":{"resource":"requests.cpu"}}},{"name":"MODE",
"valueFrom":{"configMapKeyRef":{"name":"app-config","key":"mode","optional":false}}},{"name":"PASS",
"valueFrom":{"secretKeyRef":{"name":"creds","key":"pass"}}}],"resources":{"limits":{"cpu":"500m",
"memory":"256Mi"},"requests":{"cpu":"100m","memory":"64Mi","ephemeral-storage":"1Gi"}},
"volumeMounts":[{"name":"cfg","readOnly":true,"mountPath":"/etc/app"},{"name":"scratch",
"mountPath":"/tmp","subPath":"t","mountPropagation":"None"}],
"livenessProbe":{"httpGet":{"path":"/healthz","port":"http","scheme":"HTTP",
"httpHeaders":[{"name":"X-Probe","value":"1"}]},"initialDelaySeconds":5,"timeoutSeconds":1,
"periodSeconds":10,"successThreshold":1,"failureThreshold":3},
"readinessProbe":{"tcpSocket":{"port":8080},"periodSeconds":5},
"startupProbe":{"exec":{"command":["cat","/tmp/ready"]},"failureThreshold":30,
"terminationGracePeriodSeconds":10},"lifecycle":{"postStart":{"exec":{"command":["echo",
"started"]}},"preStop":{"sleep":{"seconds":5}}},"terminationMessagePath":"/dev/termination-log",
"terminationMessagePolicy":"FallbackToLogsOnError","imagePullPolicy":"Always",
"securityContext":{"capabilities":{"add":["NET_ADMIN"],"drop":["ALL"]},"privileged":false,
"runAsUser":1000,"runAsGroup":3000,"runAsNonRoot":true,"readOnlyRootFilesystem":true,
"allowPrivilegeEscalation":false,"seccompProfile":{"type":"RuntimeDefault"}},"stdin":true,
"tty":true},{"name":"grpc","image":"grpc:1","resources":{},"livenessProbe":{"grpc":{"port":9090,
"service":"health"}}}],"restartPolicy":"OnFailure","terminationGracePeriodSeconds":45,
"activeDeadlineSeconds":900,"dnsPolicy":"ClusterFirstWithHostNet","nodeSelector":{"disk":"ssd",
"kubernetes.io/os":"linux"},"serviceAccountName":"builder","serviceAccount":"builder",
"automountServiceAccountToken":false,"hostNetwork":true,"securityContext":{"runAsUser":1000,
"runAsNonRoot":true,"supplementalGroups":[4000,5000],"fsGroup":2000,
"sysctls":[{"name":"net.core.somaxconn","value":"1024"}],"fsGroupChangePolicy":"OnRootMismatch",
"seLinuxOptions":{"level":"s0:c123,c456"}},"imagePullSecrets":[{"name":"regcred"}],
"hostname":"rich","subdomain":"sub",
"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone",
"operator":"In","values":["a","b"]}]}]},
"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":10,
"preference":{"matchExpressions":[{"key":"gpu","operator":"Exists"}]}}]},
"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,
"podAffinityTerm":{"labelSelector":{"matchExpressions":[{"key":"app","operator":"In",
"values":["rich"]}]},"topologyKey":"kubernetes.io/hostname"}}]}},
"schedulerName":"default-scheduler","tolerations":[{"key":"dedicated","operator":"Equal",
"value":"batch","effect":"NoSchedule"},{"key":"node.kubernetes.io/not-ready","operator":"Exists",
"effect":"NoExecute","tolerationSeconds":300}],"hostAliases":[{"ip":"10.0.0.1","hostnames":["db",
"db.local"]}],"priorityClassName":"high","priority":1000,"dnsConfig":{"nameservers":["1.1.1.1"],
"searches":["svc.cluster.local"],"options":[{"name":"ndots","value":"2"},{"name":"edns0"}]},
"readinessGates":[{"conditionType":"example.com/ready"}],"runtimeClassName":"gvisor",
"enableServiceLinks":false,"preemptionPolicy":"Never","overhead":{"cpu":"250m"},
"topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule",
"labelSelector":{"matchLabels":{"app":"rich"}},"minDomains":2}],"setHostnameAsFQDN":true,
"os":{"name":"linux"},"hostUsers":false,"schedulingGates":[{"name":"example.com/gate"}]}}}}}}
)json";

TEST(ProtobufDecodeTest, CapturedKubectlCreateBodiesDecodeToTheDryRunJson) {
  for (const CreateCase& c : createCases()) {
    SCOPED_TRACE("kubectl create " + c.args[0] + " " + c.args[1]);
    EXPECT_EQ(decodeToJson(fromHex(c.hex)), canonical(c.json));
  }
}

// ---------------------------------------------------------------------------------------------
// A loopback HTTP/1.1 server kubectl talks to: discovery for the groups the generators need,
// the rich CronJob, and every POST recorded, decoded and echoed back as JSON (201) so kubectl
// also accepts the decoded object as a server answer. One connection at a time on its own thread
// (kubectl's parallel discovery requests wait in the backlog); takePosts() is called from the
// test thread. Owns its socket and thread; the destructor stops and joins.
class KubectlRecorder {
 public:
  struct Post {
    std::string target;
    std::string contentType;
    std::string body;
  };

  KubectlRecorder() {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = 0;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_, 64) != 0) return;
    socklen_t len = sizeof a;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~KubectlRecorder() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (listen_ >= 0) ::close(listen_);
  }
  KubectlRecorder(const KubectlRecorder&) = delete;
  KubectlRecorder& operator=(const KubectlRecorder&) = delete;

  uint16_t port() const { return port_; }
  std::vector<Post> takePosts() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(posts_, {});
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{listen_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int fd = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      handle(fd);
      ::close(fd);
    }
  }

  // Reads with a deadline; false on timeout or EOF.
  static bool readSome(int fd, std::string& buf) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return false;
    char tmp[16384];
    ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
    return true;
  }

  static std::string header(std::string_view head, std::string_view name) {
    std::string lower(head);
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string needle = "\r\n" + std::string(name) + ":";
    size_t at = lower.find(needle);
    if (at == std::string::npos) return "";
    size_t start = at + needle.size();
    size_t end = head.find("\r\n", start);
    std::string v(head.substr(start, end - start));
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    return v;
  }

  void handle(int fd) {
    std::string buf;
    size_t headEnd;
    while ((headEnd = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!readSome(fd, buf)) return;
    }
    std::string head = buf.substr(0, headEnd);
    size_t length = static_cast<size_t>(std::strtoul(header(head, "content-length").c_str(), nullptr, 10));
    while (buf.size() < headEnd + 4 + length) {
      if (!readSome(fd, buf)) return;
    }
    std::string body = buf.substr(headEnd + 4, length);
    std::string method = head.substr(0, head.find(' '));
    std::string target = head.substr(method.size() + 1, head.find(' ', method.size() + 1) - method.size() - 1);
    std::string path = target.substr(0, target.find('?'));

    int status = 404;
    std::string answer = R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404})";
    if (method == "POST") {
      std::string contentType = header(head, "content-type");
      {
        std::lock_guard<std::mutex> lock(mu_);
        posts_.push_back({target, contentType, body});
      }
      auto doc = decodeKubernetesProtobuf(body);
      if (doc.ok()) {
        status = 201;
        answer = json::write(*doc);
      } else {
        status = 500;
        answer = R"({"kind":"Status","apiVersion":"v1","status":"Failure","code":500})";
      }
    } else if (std::string found = discovery(path); !found.empty()) {
      status = 200;
      answer = found;
    }
    std::string reply =
        "HTTP/1.1 " + std::to_string(status) + (status < 300 ? " OK" : " Error") +
        "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " + std::to_string(answer.size()) +
        "\r\n\r\n" + answer;
    size_t off = 0;
    while (off < reply.size()) {
      ssize_t n = ::send(fd, reply.data() + off, reply.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  struct Resource {
    const char* name;
    const char* kind;
    bool namespaced;
  };
  struct GroupVersion {
    const char* groupVersion;
    std::vector<Resource> resources;
  };

  static const std::vector<GroupVersion>& groups() {
    static const std::vector<GroupVersion> gvs = {
        {"v1",
         {{"namespaces", "Namespace", false},
          {"configmaps", "ConfigMap", true},
          {"secrets", "Secret", true},
          {"serviceaccounts", "ServiceAccount", true},
          {"resourcequotas", "ResourceQuota", true},
          {"services", "Service", true},
          {"pods", "Pod", true}}},
        {"apps/v1", {{"deployments", "Deployment", true}}},
        {"batch/v1", {{"jobs", "Job", true}, {"cronjobs", "CronJob", true}}},
        {"rbac.authorization.k8s.io/v1",
         {{"roles", "Role", true},
          {"rolebindings", "RoleBinding", true},
          {"clusterroles", "ClusterRole", false},
          {"clusterrolebindings", "ClusterRoleBinding", false}}},
        {"networking.k8s.io/v1", {{"ingresses", "Ingress", true}}},
        {"policy/v1", {{"poddisruptionbudgets", "PodDisruptionBudget", true}}},
        {"scheduling.k8s.io/v1", {{"priorityclasses", "PriorityClass", false}}},
        {"authorization.k8s.io/v1",
         {{"selfsubjectaccessreviews", "SelfSubjectAccessReview", false},
          {"selfsubjectrulesreviews", "SelfSubjectRulesReview", false}}},
        {"authentication.k8s.io/v1", {{"selfsubjectreviews", "SelfSubjectReview", false}}},
    };
    return gvs;
  }

  static std::string discovery(const std::string& path) {
    if (path == "/api") return R"({"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]})";
    if (path == "/apis") {
      std::string out = R"({"kind":"APIGroupList","apiVersion":"v1","groups":[)";
      bool first = true;
      for (const auto& gv : groups()) {
        std::string g = gv.groupVersion;
        if (g == "v1") continue;
        std::string group = g.substr(0, g.find('/')), version = g.substr(g.find('/') + 1);
        std::string v = R"({"groupVersion":")" + g + R"(","version":")" + version + R"("})";
        out += (first ? "" : ",") + std::string(R"({"name":")") + group + R"(","versions":[)" + v +
               R"(],"preferredVersion":)" + v + "}";
        first = false;
      }
      return out + "]}";
    }
    if (path == "/apis/batch/v1/namespaces/default/cronjobs/rich") return std::string(kRichCronJob);
    for (const auto& gv : groups()) {
      std::string g = gv.groupVersion;
      if (path != (g == "v1" ? "/api/v1" : "/apis/" + g)) continue;
      std::string out = R"({"kind":"APIResourceList","apiVersion":"v1","groupVersion":")" + g + R"(","resources":[)";
      for (size_t i = 0; i < gv.resources.size(); ++i) {
        const Resource& r = gv.resources[i];
        out += (i ? "," : "") + std::string(R"({"name":")") + r.name + R"(","singularName":"","namespaced":)" +
               (r.namespaced ? "true" : "false") + R"(,"kind":")" + r.kind + R"(","verbs":["create","get","list"]})";
      }
      return out + "]}";
    }
    return "";
  }

  int listen_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Post> posts_;
};

// Runs the installed kubectl against a recorder with a private kubeconfig and cache.
class LiveKubectlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kubectl_ = KUBEOP_TEST_KUBECTL;
    if (kubectl_.empty() || !fs::exists(kubectl_)) GTEST_SKIP() << "kubectl is not installed";
    ASSERT_NE(recorder_.port(), 0);
    dir_ = fs::temp_directory_path() / ("kubeop-protobuf-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    std::ofstream(dir_ / "kubeconfig")
        << "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
        << "    server: http://127.0.0.1:" << recorder_.port()
        << "\ncontexts:\n- name: c\n  context: {cluster: c, user: u, namespace: default}\n"
        << "current-context: c\nusers:\n- name: u\n  user: {}\n";
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  test::RunResult kubectl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kubectl_, "--kubeconfig=" + (dir_ / "kubeconfig").string(),
                                     "--cache-dir=" + (dir_ / "cache").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run(argv, "", {"HOME=" + dir_.string(), "KUBECTL_KUBERC=false"});
  }

  // The single protobuf body one kubectl command sent. With `answerAccepted`, kubectl must also
  // have taken the decoded object (echoed back with 201) as a valid answer.
  std::string sentBody(const std::vector<std::string>& args, bool answerAccepted = true) {
    test::RunResult r = kubectl(args);
    auto posts = recorder_.takePosts();
    EXPECT_EQ(posts.size(), 1u) << r.out << r.err;
    if (posts.size() != 1) return "";
    EXPECT_EQ(posts[0].contentType, "application/vnd.kubernetes.protobuf");
    EXPECT_TRUE(isKubernetesProtobuf(posts[0].contentType));
    if (answerAccepted) {
      EXPECT_EQ(r.exitCode, 0) << "kubectl did not accept the decoded object as the server's answer:\n" << r.err;
    }
    return posts[0].body;
  }

  // `kubectl create <args>` with --dry-run=client -o json: the JSON the object marshals to.
  std::string dryRun(const std::vector<std::string>& createArgs) {
    std::vector<std::string> args = {"--dry-run=client", "--output=json", "create"};
    args.insert(args.end(), createArgs.begin(), createArgs.end());
    test::RunResult r = kubectl(args);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_TRUE(recorder_.takePosts().empty());
    return canonical(r.out);
  }

  std::string kubectl_;
  KubectlRecorder recorder_;
  fs::path dir_;
};

TEST_F(LiveKubectlTest, EveryCreateGeneratorBodyDecodesToItsDryRunJson) {
  for (const CreateCase& c : createCases()) {
    SCOPED_TRACE("kubectl create " + c.args[0] + " " + c.args[1]);
    std::vector<std::string> args = {"create"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    std::string body = sentBody(args);
    EXPECT_EQ(decodeToJson(body), dryRun(c.args));
  }
}

TEST_F(LiveKubectlTest, JobFromARichCronJobCarriesTheWholePodSpec) {
  std::string body = sentBody({"create", "job", "copy", "--from=cronjob/rich"});
  std::string decoded = decodeToJson(body);
  EXPECT_EQ(decoded, dryRun({"job", "copy", "--from=cronjob/rich"}));
  // Spot checks that the interesting encodings really were exercised.
  EXPECT_NE(decoded.find(R"("httpGet":{"path":"/healthz","port":"http",)"), std::string::npos);
  EXPECT_NE(decoded.find(R"("tcpSocket":{"port":8080})"), std::string::npos);
  EXPECT_NE(decoded.find(R"("ownerReferences":[{"apiVersion":"batch/v1","kind":"CronJob","name":"rich",)"),
            std::string::npos);
  EXPECT_NE(decoded.find(R"("divisor":"1m")"), std::string::npos);
  EXPECT_NE(decoded.find(R"("values":[42,-7])"), std::string::npos);
}

// kubectl's other typed-client requests: auth can-i, auth whoami, create token. There is no
// dry-run for these; the expectations follow the Go types' json tags.
TEST_F(LiveKubectlTest, AuthAndTokenRequestsDecode) {
  // "no" (the echoed status says allowed=false) exits 1.
  EXPECT_EQ(decodeToJson(sentBody({"auth", "can-i", "get", "pods", "--subresource=log"}, false)),
            canonical(R"json({"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1",
              "metadata":{"creationTimestamp":null},
              "spec":{"resourceAttributes":{"namespace":"default","verb":"get","resource":"pods","subresource":"log"}},
              "status":{"allowed":false}})json"));
  EXPECT_EQ(decodeToJson(sentBody({"auth", "can-i", "--list"})),
            canonical(R"json({"kind":"SelfSubjectRulesReview","apiVersion":"authorization.k8s.io/v1",
              "metadata":{"creationTimestamp":null},"spec":{"namespace":"default"},
              "status":{"resourceRules":null,"nonResourceRules":null,"incomplete":false}})json"));
  EXPECT_EQ(decodeToJson(sentBody({"auth", "whoami"})),
            canonical(R"json({"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1",
              "metadata":{"creationTimestamp":null},"status":{"userInfo":{}}})json"));
  // The echoed TokenRequest has no token, which kubectl reports as an error.
  EXPECT_EQ(decodeToJson(sentBody({"create", "token", "builder", "--audience=vault", "--duration=10m",
                                   "--bound-object-kind=Pod", "--bound-object-name=p1", "--bound-object-uid=u1"},
                                  false)),
            canonical(R"json({"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1",
              "metadata":{"creationTimestamp":null},
              "spec":{"audiences":["vault"],"expirationSeconds":600,
                "boundObjectRef":{"kind":"Pod","apiVersion":"v1","name":"p1","uid":"u1"}},
              "status":{"token":"","expirationTimestamp":null}})json"));
}

// ---------------------------------------------------------------------------------------------
// Hand-built messages.

TEST(ProtobufDecodeTest, RecognisesTheProtobufContentType) {
  EXPECT_TRUE(isKubernetesProtobuf("application/vnd.kubernetes.protobuf"));
  EXPECT_TRUE(isKubernetesProtobuf("Application/VND.Kubernetes.Protobuf"));
  EXPECT_TRUE(isKubernetesProtobuf(" application/vnd.kubernetes.protobuf ; charset=binary"));
  EXPECT_FALSE(isKubernetesProtobuf("application/vnd.kubernetes.protobuf;stream=watch"));
  EXPECT_FALSE(isKubernetesProtobuf("application/json"));
  EXPECT_FALSE(isKubernetesProtobuf("application/vnd.kubernetes.protobuffer"));
  EXPECT_FALSE(isKubernetesProtobuf(""));
}

TEST(ProtobufDecodeTest, SkipsUnknownFieldsOfEveryWireType) {
  auto unknowns = [](PbWriter m) {
    m.varint(900, 12345678901234ull)
        .fixed64(901, 0x0102030405060708ull)
        .bytes(902, std::string("\x0a\x03xyz\xff", 6))
        .fixed32(903, 7)
        .startGroup(904)
        .varint(1, 1)
        .startGroup(2)
        .bytes(3, "nested")
        .endGroup(2)
        .endGroup(904);
    return m;
  };
  PbWriter meta = objectMeta("cfg");
  meta.entry(11, "app", "web");
  PbWriter cm;
  cm.message(1, unknowns(meta)).entry(2, "k", "v");
  cm = unknowns(cm);
  PbWriter u;
  u.message(1, PbWriter().bytes(1, "v1").bytes(2, "ConfigMap").varint(77, 1)).bytes(2, cm.str()).fixed32(78, 9);
  EXPECT_EQ(decodeToJson(std::string("k8s\0", 4) + u.str()),
            canonical(R"({"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cfg","creationTimestamp":null,
              "labels":{"app":"web"}},"data":{"k":"v"}})"));
}

TEST(ProtobufDecodeTest, RefusesBodiesWithoutTheMagic) {
  for (std::string body : {std::string(), std::string("k8s"), std::string("k8s\x01", 4),
                           std::string("{\"kind\":\"Pod\"}"), std::string("K8S\0", 4)}) {
    auto doc = decodeKubernetesProtobuf(body);
    ASSERT_FALSE(doc.ok()) << body;
    EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(doc.status().message().find("magic"), std::string::npos) << doc.status().message();
  }
}

TEST(ProtobufDecodeTest, RefusesAnEnvelopeWithoutAKind) {
  for (std::string body : {std::string("k8s\0", 4), envelope("v1", "", "")}) {
    auto doc = decodeKubernetesProtobuf(body);
    ASSERT_FALSE(doc.ok());
    EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(ProtobufDecodeTest, AnUnknownKindIsUnimplementedAndAsksForJson) {
  auto doc =
      decodeKubernetesProtobuf(envelope("apps/v1", "StatefulSet", PbWriter().message(1, objectMeta("db")).str()));
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(doc.status().message().find("apps/v1, Kind=StatefulSet"), std::string::npos) << doc.status().message();
  EXPECT_NE(doc.status().message().find("JSON"), std::string::npos);
  // A known kind under another group version is unknown too.
  doc = decodeKubernetesProtobuf(envelope("extensions/v1beta1", "Deployment", ""));
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kUnimplemented);
}

TEST(ProtobufDecodeTest, ContentEncodingIsUnimplementedAndJsonRawIsPassedThrough) {
  auto doc = decodeKubernetesProtobuf(envelope("v1", "ConfigMap", "\x1f\x8b", "gzip"));
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(decodeToJson(
                envelope("v1", "ConfigMap", R"({"metadata":{"name":"x"},"data":{"a":"b"}})", "", "application/json")),
            canonical(R"({"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x"},"data":{"a":"b"}})"));
  doc = decodeKubernetesProtobuf(envelope("v1", "ConfigMap", "[1]", "", "application/json"));
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  doc = decodeKubernetesProtobuf(envelope("v1", "ConfigMap", "", "", "application/cbor"));
  EXPECT_EQ(doc.status().code(), StatusCode::kUnimplemented);
}

TEST(ProtobufDecodeTest, EveryTruncationOfACapturedBodyFailsCleanly) {
  for (const CreateCase& c : createCases()) {
    const std::string body = fromHex(c.hex);
    SCOPED_TRACE(c.args[0]);
    // Cutting the body anywhere inside `raw` leaves a length prefix pointing past the end.
    for (size_t n = 0; n < body.size(); ++n) {
      auto doc = decodeKubernetesProtobuf(std::string_view(body).substr(0, n));
      if (!doc.ok()) {
        EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument) << n << ": " << doc.status().message();
      }
    }
    // Cutting `raw` itself and re-wrapping it with a consistent length: fails inside the object
    // unless the cut falls between two fields.
    auto whole = decodeKubernetesProtobuf(body);
    ASSERT_TRUE(whole.ok());
    std::string raw;
    {
      // The raw bytes: after the magic, typeMeta (field 1), then field 2.
      std::string_view rest = std::string_view(body).substr(4);
      size_t tmLen = static_cast<unsigned char>(rest[1]);
      rest.remove_prefix(2 + tmLen);
      ASSERT_EQ(rest[0], '\x12');
      uint64_t len = 0;
      size_t i = 1;
      for (int shift = 0;; shift += 7, ++i) {
        len |= uint64_t(static_cast<unsigned char>(rest[i]) & 0x7f) << shift;
        if (!(static_cast<unsigned char>(rest[i]) & 0x80)) break;
      }
      raw = std::string(rest.substr(i + 1, len));
    }
    const json::Value& kind = *json::find(*whole, "kind");
    const json::Value& apiVersion = *json::find(*whole, "apiVersion");
    size_t failures = 0;
    for (size_t n = 0; n < raw.size(); ++n) {
      auto doc = decodeKubernetesProtobuf(envelope(json::view(apiVersion), json::view(kind), raw.substr(0, n)));
      if (!doc.ok()) {
        EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument) << doc.status().message();
        EXPECT_NE(doc.status().message().find("malformed protobuf body at byte"), std::string::npos);
        ++failures;
      }
    }
    EXPECT_GT(failures, raw.size() / 2);
  }
}

TEST(ProtobufDecodeTest, RandomCorruptionNeverCrashes) {
  std::mt19937 rng(20240601);
  for (const CreateCase& c : createCases()) {
    const std::string body = fromHex(c.hex);
    for (int round = 0; round < 300; ++round) {
      std::string mutated = body;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const size_t at = 4 + rng() % (mutated.size() - 4);
        switch (rng() % 3) {
          case 0:
            mutated[at] = static_cast<char>(rng());
            break;
          case 1:
            mutated.erase(at, 1);
            break;
          default:
            mutated.insert(at, 1, static_cast<char>(rng()));
            break;
        }
      }
      auto doc = decodeKubernetesProtobuf(mutated);
      if (!doc.ok()) {
        const StatusCode code = doc.status().code();
        EXPECT_TRUE(code == StatusCode::kInvalidArgument || code == StatusCode::kUnimplemented)
            << doc.status().toString();
      }
    }
  }
}

TEST(ProtobufDecodeTest, WrongWireTypeForAKnownFieldIsInvalid) {
  // ObjectMeta.name (string) sent as a varint.
  PbWriter meta;
  meta.varint(1, 5);
  auto doc = decodeKubernetesProtobuf(envelope("v1", "Namespace", PbWriter().message(1, meta).str()));
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(doc.status().message().find("metadata"), std::string::npos) << doc.status().message();
  // Wire types 6 and 7 do not exist; end-group without start is invalid.
  for (std::string raw : {std::string("\x0e"), std::string("\x0f"), std::string("\x0c")}) {
    doc = decodeKubernetesProtobuf(envelope("v1", "Namespace", raw));
    EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  }
  // Field number 0, an 11-byte varint.
  doc = decodeKubernetesProtobuf(envelope("v1", "Namespace", std::string("\x00\x01", 2)));
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  doc = decodeKubernetesProtobuf(envelope("v1", "Namespace", "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"));
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
}

TEST(ProtobufDecodeTest, HostileNestingIsBounded) {
  // 100k nested groups in an unknown field.
  PbWriter groups;
  for (int i = 0; i < 100000; ++i) groups.startGroup(5);
  for (int i = 0; i < 100000; ++i) groups.endGroup(5);
  auto doc = decodeKubernetesProtobuf(envelope("v1", "Namespace", groups.str()));
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(doc.status().message().find("nested"), std::string::npos) << doc.status().message();
  // FieldsV1 whose JSON nests 100k levels.
  PbWriter entry;
  entry.bytes(1, "kubectl").message(7, PbWriter().bytes(1, std::string(100000, '[') + std::string(100000, ']')));
  PbWriter meta = objectMeta("x");
  meta.message(17, entry);
  doc = decodeKubernetesProtobuf(envelope("v1", "Namespace", PbWriter().message(1, meta).str()));
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(doc.status().message().find("nested deeper"), std::string::npos) << doc.status().message();
}

TEST(ProtobufDecodeTest, MetadataTimestampsManagedFieldsAndOwnerReferences) {
  PbWriter meta;
  meta.bytes(1, "web")
      .bytes(5, "0c6c3f9e-2b7a-4a1e-9d55-4c7b8a1e2f30")
      .bytes(6, "1234")
      .varint(7, 3)
      .message(8, PbWriter().varint(1, 1714979289).varint(2, 987654321))  // nanos are dropped
      .message(9, PbWriter().varint(1, 253402300799))
      .varint(10, 30)
      .entry(12, "b", "2")
      .entry(12, "a", "1")
      .entry(12, "b", "3")  // a repeated key: the last one wins
      .message(13, PbWriter().bytes(1, "ReplicaSet").bytes(3, "web-1").bytes(4, "u-1").bytes(5, "apps/v1").varint(6, 1))
      .bytes(14, "example.com/protect")
      .bytes(14, "")
      .message(17, PbWriter()
                       .bytes(1, "kubectl-client-side-apply")
                       .bytes(2, "Update")
                       .bytes(3, "apps/v1")
                       .message(4, PbWriter().varint(1, 0))
                       .bytes(6, "FieldsV1")
                       .message(7, PbWriter().bytes(1, R"({"f:metadata":{"f:labels":{".":{},"f:app":{}}}})")));
  EXPECT_EQ(decodeToJson(envelope("v1", "Namespace", PbWriter().message(1, meta).str())),
            canonical(R"({"kind":"Namespace","apiVersion":"v1","metadata":{"name":"web",
              "uid":"0c6c3f9e-2b7a-4a1e-9d55-4c7b8a1e2f30","resourceVersion":"1234","generation":3,
              "creationTimestamp":"2024-05-06T07:08:09Z","deletionTimestamp":"9999-12-31T23:59:59Z",
              "deletionGracePeriodSeconds":30,"annotations":{"a":"1","b":"3"},
              "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-1","uid":"u-1",
                "controller":true}],
              "finalizers":["example.com/protect",""],
              "managedFields":[{"manager":"kubectl-client-side-apply","operation":"Update","apiVersion":"apps/v1",
                "time":"1970-01-01T00:00:00Z","fieldsType":"FieldsV1",
                "fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}}]},
              "spec":{},"status":{}})"));
  // Go's zero time (0001-01-01T00:00:00Z) is null; years past 9999 are refused.
  PbWriter zero;
  zero.message(8, PbWriter().varint(1, static_cast<uint64_t>(int64_t{-62135596800})));
  EXPECT_EQ(
      decodeToJson(envelope("v1", "Namespace", PbWriter().message(1, zero).str())),
      canonical(
          R"({"kind":"Namespace","apiVersion":"v1","metadata":{"creationTimestamp":null},"spec":{},"status":{}})"));
  PbWriter far;
  far.message(8, PbWriter().varint(1, 253402300800));
  EXPECT_EQ(decodeKubernetesProtobuf(envelope("v1", "Namespace", PbWriter().message(1, far).str())).status().code(),
            StatusCode::kInvalidArgument);
  // FieldsV1 that is not JSON.
  PbWriter bad = objectMeta("x");
  bad.message(17, PbWriter().message(7, PbWriter().bytes(1, "{nope")));
  EXPECT_EQ(decodeKubernetesProtobuf(envelope("v1", "Namespace", PbWriter().message(1, bad).str())).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ProtobufDecodeTest, LeaseMicroTimes) {
  PbWriter spec;
  spec.bytes(1, "node-a")
      .varint(2, 15)
      .message(3, PbWriter().varint(1, 1714979289).varint(2, 123456789))  // → .123456
      .message(4, PbWriter().varint(1, 1714979290))
      .varint(5, 0);
  EXPECT_EQ(decodeToJson(envelope("coordination.k8s.io/v1", "Lease",
                                  PbWriter().message(1, objectMeta("node-a")).message(2, spec).str())),
            canonical(R"({"kind":"Lease","apiVersion":"coordination.k8s.io/v1",
              "metadata":{"name":"node-a","creationTimestamp":null},
              "spec":{"holderIdentity":"node-a","leaseDurationSeconds":15,
                "acquireTime":"2024-05-06T07:08:09.123456Z","renewTime":"2024-05-06T07:08:10.000000Z",
                "leaseTransitions":0}})"));
}

TEST(ProtobufDecodeTest, ScalarsListsMapsAndMergedMessages) {
  // PodSpec pieces kubectl's generators never set: negative int32 (a 10-byte varint), a packed
  // int64 list, binary data, IntOrString, invalid UTF-8, a singular message sent twice (merged).
  PbWriter container;
  container.bytes(1, "c")
      .bytes(2, "img\xff")
      .message(10, PbWriter().message(
                       1, PbWriter().message(3, PbWriter().message(1, PbWriter().varint(1, 1).bytes(3, "http")))));
  PbWriter podSecurity;
  podSecurity.tag(4, 2);
  {
    PbWriter packed;
    packed.putVarint(1000);
    packed.putVarint(static_cast<uint64_t>(int64_t{-1}));
    podSecurity.putVarint(packed.str().size());
    podSecurity.raw(packed.str());
  }
  podSecurity.varint(4, 7);  // an unpacked element after the packed ones
  PbWriter spec;
  spec.message(2, container)
      .varint(25, static_cast<uint64_t>(int64_t{-5}))  // priority: int32 -5
      .message(14, podSecurity)
      .bytes(3, "Never");
  PbWriter pod;
  pod.message(1, objectMeta("p")).message(2, spec).message(2, PbWriter().bytes(6, "Default"));
  EXPECT_EQ(decodeToJson(envelope("v1", "Pod", pod.str())),
            canonical(R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","creationTimestamp":null},
              "spec":{"containers":[{"name":"c","image":"img\ufffd","resources":{},
                "livenessProbe":{"tcpSocket":{"port":"http"}}}],
                "restartPolicy":"Never","dnsPolicy":"Default","securityContext":{"supplementalGroups":[1000,-1,7]},
                "priority":-5},"status":{}})"));

  PbWriter cm;
  cm.message(1, objectMeta("bin"))
      .message(3, PbWriter().bytes(1, "blob").bytes(2, std::string("\x00\x01\xfe\xff", 4)))
      .message(3, PbWriter().bytes(1, "empty"))  // an entry without a value
      .varint(4, 1);
  EXPECT_EQ(decodeToJson(envelope("v1", "ConfigMap", cm.str())),
            canonical(R"({"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"bin","creationTimestamp":null},
              "immutable":true,"binaryData":{"blob":"AAH+/w==","empty":""}})"));

  // IntOrString with an impossible type.
  PbWriter port;
  port.bytes(1, "p").varint(3, 80).message(4, PbWriter().varint(1, 2));
  auto doc =
      decodeKubernetesProtobuf(envelope("v1", "Service", PbWriter().message(2, PbWriter().message(1, port)).str()));
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(doc.status().message().find("spec.ports.targetPort"), std::string::npos) << doc.status().message();
}

TEST(ProtobufDecodeTest, DeleteOptionsAndEviction) {
  PbWriter opts;
  opts.varint(1, 0).message(2, PbWriter().bytes(1, "uid-1")).bytes(4, "Foreground").bytes(5, "All");
  EXPECT_EQ(decodeToJson(envelope("v1", "DeleteOptions", opts.str())),
            canonical(R"({"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,
              "preconditions":{"uid":"uid-1"},"propagationPolicy":"Foreground","dryRun":["All"]})"));
  EXPECT_EQ(
      decodeToJson(envelope("policy/v1", "Eviction",
                            PbWriter().message(1, objectMeta("web-0")).message(2, PbWriter().varint(1, 30)).str())),
      canonical(R"({"kind":"Eviction","apiVersion":"policy/v1","metadata":{"name":"web-0","creationTimestamp":null},
              "deleteOptions":{"gracePeriodSeconds":30}})"));
}

TEST(ProtobufDecodeTest, ListsTheSupportedKinds) {
  auto kinds = supportedProtobufKinds();
  for (const char* k :
       {"v1, Kind=Namespace", "v1, Kind=ConfigMap", "v1, Kind=Secret", "v1, Kind=ServiceAccount",
        "v1, Kind=ResourceQuota", "v1, Kind=Service", "apps/v1, Kind=Deployment", "batch/v1, Kind=Job",
        "batch/v1, Kind=CronJob", "rbac.authorization.k8s.io/v1, Kind=Role",
        "rbac.authorization.k8s.io/v1, Kind=RoleBinding", "rbac.authorization.k8s.io/v1, Kind=ClusterRole",
        "rbac.authorization.k8s.io/v1, Kind=ClusterRoleBinding", "policy/v1, Kind=PodDisruptionBudget",
        "scheduling.k8s.io/v1, Kind=PriorityClass", "networking.k8s.io/v1, Kind=Ingress"}) {
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), k), kinds.end()) << k;
  }
  EXPECT_TRUE(std::is_sorted(kinds.begin(), kinds.end()));
}

}  // namespace
}  // namespace kubeop::sandbox
