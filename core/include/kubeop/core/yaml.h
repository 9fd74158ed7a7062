// YAML ↔ JSON the way kubectl reads manifests (sigs.k8s.io/yaml over go-yaml v2, YAML 1.1
// scalar resolution):
//   * multi-document streams (`---`), comments, empty documents skipped;
//   * plain scalars resolve to null (~, null, empty), bool (true/false/yes/no/on/off/y/n in
//     their three casings), int (decimal, 0x hex, 0o and leading-0 octal like 0755, 0b binary,
//     `_` separators; beyond int64 → uint64 → float) and float; quoted and block scalars stay
//     strings; `!!str`/`!!int`/`!!bool`/`!!float`/`!!null` tags are honoured;
//   * map keys become JSON strings as kubectl makes them (a plain `on:` key becomes "true");
//   * anchors/aliases within a document, and merge keys `<<` (map or list of maps);
//   * duplicate keys are an error (kubectl: "mapping key already defined").
// Errors name the source, the document index (0-based, as kubeop's CLI prints it), line and
// column (1-based): `app.yaml: document 2, line 7, column 3: duplicate key "name"`.
//
// Thread-safety: stateless functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/core/status.h"

namespace kubeop::yaml {

struct ParsedDocument {
  json::Document doc;
  int index = 0;  // the document's index in the stream, counting empty documents
  int line = 0;   // 1-based line where the document starts
};

struct ParseOptions {
  std::string source;          // a file name for messages; may be empty
  size_t max_bytes = 8u << 20; // refuse larger input (not a crash, not a hang)
  int max_depth = 200;         // nesting limit
};

// Parses every non-empty document in `text`.
StatusOr<std::vector<ParsedDocument>> parseStream(std::string_view text, const ParseOptions& opts = {});
// Parses exactly one document (the first non-empty one; more than one is an error).
StatusOr<json::Document> parseOne(std::string_view text, const ParseOptions& opts = {});

// Emits `v` as block-style YAML. Strings that a YAML 1.1 reader would take for another type
// ("yes", "0755", "1e3", "") are quoted, multi-line strings use literal blocks.
std::string toYaml(const json::Value& v);
// Emits documents separated by `---`.
std::string toYamlStream(const std::vector<const json::Value*>& docs);

}  // namespace kubeop::yaml
