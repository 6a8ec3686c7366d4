#include "server/config/yaml_to_proto.h"

#include <algorithm>
#include <cfloat>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "server/config/scalar_parsing.h"
#include "yaml-cpp/yaml.h"

namespace fabric {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::EnumValueDescriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;

// What a node holds, for "expected X, got Y".
std::string Describe(const YAML::Node& node) {
  if (node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return absl::StrCat("\"", node.Scalar(), "\"");
}

std::string FieldNames(const Descriptor* descriptor) {
  std::string names;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    absl::StrAppend(&names, i == 0 ? "" : ", ", descriptor->field(i)->name());
  }
  return names;
}

// Edit distance counting a swap of neighbours as one edit (optimal string alignment).
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string UnknownKeyMessage(const std::string& key, const Descriptor* descriptor) {
  std::string message =
      absl::StrCat("unknown key \"", key, "\" (known: ", FieldNames(descriptor), ")");
  const FieldDescriptor* closest = nullptr;
  size_t best = std::max<size_t>(1, std::min<size_t>(2, key.size() / 3));
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const size_t distance = EditDistance(key, descriptor->field(i)->name());
    if (distance <= best) closest = descriptor->field(i), best = distance;
  }
  if (closest != nullptr) absl::StrAppend(&message, "; did you mean \"", closest->name(), "\"?");
  return message;
}

bool IsSizeField(const FieldDescriptor* field) { return absl::EndsWith(field->name(), "_bytes"); }

absl::StatusOr<int64_t> ParseSigned(const std::string& text, const FieldDescriptor* field,
                                    int64_t min, int64_t max) {
  if (!IsSizeField(field)) return ParseSignedInteger(text, min, max);
  ASSIGN_OR_RETURN(const uint64_t size, ParseByteSize(text, static_cast<uint64_t>(max)));
  return static_cast<int64_t>(size);
}

absl::StatusOr<uint64_t> ParseUnsigned(const std::string& text, const FieldDescriptor* field,
                                       uint64_t max) {
  return IsSizeField(field) ? ParseByteSize(text, max) : ParseUnsignedInteger(text, max);
}

absl::StatusOr<const EnumValueDescriptor*> ParseEnum(const std::string& text,
                                                     const FieldDescriptor* field) {
  const EnumValueDescriptor* value = field->enum_type()->FindValueByName(text);
  if (value != nullptr) return value;
  std::string names;
  for (int i = 0; i < field->enum_type()->value_count(); ++i) {
    absl::StrAppend(&names, i == 0 ? "" : ", ", field->enum_type()->value(i)->name());
  }
  return absl::InvalidArgumentError(
      absl::StrCat("expected one of ", names, ", got \"", text, "\""));
}

// Converts `text` to the type of `field` and sets it (or, for a repeated field, adds it).
absl::Status SetScalar(const std::string& text, const FieldDescriptor* field, Message* message) {
  using Limits32 = std::numeric_limits<int32_t>;
  using Limits64 = std::numeric_limits<int64_t>;
  const Reflection* r = message->GetReflection();
  const bool add = field->is_repeated();
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      ASSIGN_OR_RETURN(const int64_t value,
                       ParseSigned(text, field, Limits32::min(), Limits32::max()));
      add ? r->AddInt32(message, field, value) : r->SetInt32(message, field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      ASSIGN_OR_RETURN(const int64_t value,
                       ParseSigned(text, field, Limits64::min(), Limits64::max()));
      add ? r->AddInt64(message, field, value) : r->SetInt64(message, field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      ASSIGN_OR_RETURN(const uint64_t value, ParseUnsigned(text, field, UINT32_MAX));
      add ? r->AddUInt32(message, field, value) : r->SetUInt32(message, field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      ASSIGN_OR_RETURN(const uint64_t value, ParseUnsigned(text, field, UINT64_MAX));
      add ? r->AddUInt64(message, field, value) : r->SetUInt64(message, field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      ASSIGN_OR_RETURN(const double value, ParseFiniteNumber(text, DBL_MAX));
      add ? r->AddDouble(message, field, value) : r->SetDouble(message, field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      ASSIGN_OR_RETURN(const double value, ParseFiniteNumber(text, FLT_MAX));
      add ? r->AddFloat(message, field, value) : r->SetFloat(message, field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      ASSIGN_OR_RETURN(const bool value, ParseBool(text));
      add ? r->AddBool(message, field, value) : r->SetBool(message, field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      ASSIGN_OR_RETURN(const EnumValueDescriptor* value, ParseEnum(text, field));
      add ? r->AddEnum(message, field, value) : r->SetEnum(message, field, value);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING:  // string and bytes: the text as written
      add ? r->AddString(message, field, text) : r->SetString(message, field, text);
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return absl::InternalError("a message field is not a scalar");
  }
  return absl::OkStatus();
}

// Walks one YAML document alongside a message's descriptor. Stateless apart from the source
// name it reports; used on one thread for one parse.
class YamlToProto {
 public:
  explicit YamlToProto(const std::string& source) : source_(source) {}

  // Fills `message` from a mapping (or nothing) found at `path`.
  absl::Status MapMessage(const YAML::Node& node, const std::string& path, Message* message) const {
    if (node.IsNull()) return absl::OkStatus();  // e.g. `server:` with every key commented out
    const Descriptor* descriptor = message->GetDescriptor();
    if (!node.IsMap()) {
      return Error(node, path,
                   absl::StrCat("expected a mapping (keys: ", FieldNames(descriptor), "), got ",
                                Describe(node)));
    }
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar())
        return Error(key, path, "keys must be plain names, got " + Describe(key));
      const std::string& name = key.Scalar();
      const FieldDescriptor* field = descriptor->FindFieldByName(name);
      if (field == nullptr) return Error(key, path, UnknownKeyMessage(name, descriptor));
      if (!seen.insert(name).second) return Error(key, path, "duplicate key \"" + name + "\"");
      const FieldDescriptor* rival = OneofRival(*message, field);
      if (rival != nullptr && seen.count(rival->name()) > 0) {
        return Error(key, path,
                     absl::StrCat("\"", name, "\" and \"", rival->name(),
                                  "\" are alternatives; set only one of them"));
      }
      RETURN_IF_ERROR(
          MapField(entry.second, path.empty() ? name : path + "." + name, field, message));
    }
    return absl::OkStatus();
  }

 private:
  // The other member of `field`'s oneof that is set already, if any.
  static const FieldDescriptor* OneofRival(const Message& message, const FieldDescriptor* field) {
    if (field->real_containing_oneof() == nullptr) return nullptr;
    const FieldDescriptor* set =
        message.GetReflection()->GetOneofFieldDescriptor(message, field->real_containing_oneof());
    return set == field ? nullptr : set;
  }

  absl::Status MapField(const YAML::Node& value, const std::string& path,
                        const FieldDescriptor* field, Message* message) const {
    if (field->is_map()) return MapMap(value, path, field, message);
    if (field->is_repeated()) return MapList(value, path, field, message);
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return MapMessage(value, path, message->GetReflection()->MutableMessage(message, field));
    }
    return MapScalar(value, path, field, message);
  }

  absl::Status MapList(const YAML::Node& value, const std::string& path,
                       const FieldDescriptor* field, Message* message) const {
    if (value.IsNull()) return absl::OkStatus();
    if (!value.IsSequence()) {
      return Error(value, path,
                   "expected a list (items starting with \"- \"), got " + Describe(value));
    }
    size_t index = 0;
    for (const YAML::Node& item : value) {
      const std::string item_path = absl::StrCat(path, "[", index++, "]");
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        RETURN_IF_ERROR(
            MapMessage(item, item_path, message->GetReflection()->AddMessage(message, field)));
      } else {
        RETURN_IF_ERROR(MapScalar(item, item_path, field, message));
      }
    }
    return absl::OkStatus();
  }

  // A map<K, V> field: a mapping whose keys convert to K and whose values map onto V.
  absl::Status MapMap(const YAML::Node& value, const std::string& path,
                      const FieldDescriptor* field, Message* message) const {
    if (value.IsNull()) return absl::OkStatus();
    if (!value.IsMap()) return Error(value, path, "expected a mapping, got " + Describe(value));
    std::set<std::string> seen;
    for (const auto& entry : value) {
      if (!entry.first.IsScalar()) {
        return Error(entry.first, path, "keys must be single values, got " + Describe(entry.first));
      }
      const std::string& key = entry.first.Scalar();
      if (!seen.insert(key).second)
        return Error(entry.first, path, "duplicate key \"" + key + "\"");
      Message* item = message->GetReflection()->AddMessage(message, field);
      const std::string item_path = path + "." + key;
      RETURN_IF_ERROR(MapScalar(entry.first, item_path, field->message_type()->map_key(), item));
      RETURN_IF_ERROR(MapField(entry.second, item_path, field->message_type()->map_value(), item));
    }
    return absl::OkStatus();
  }

  absl::Status MapScalar(const YAML::Node& value, const std::string& path,
                         const FieldDescriptor* field, Message* message) const {
    if (value.IsNull()) return Error(value, path, "has no value; give one or remove the key");
    if (!value.IsScalar()) {
      return Error(value, path, "expected a single value, got " + Describe(value));
    }
    const absl::Status status = SetScalar(value.Scalar(), field, message);
    return status.ok() ? status : Error(value, path, status.message());
  }

  // "<source>:<line>: <path>: <what>", leaving out the line when yaml-cpp has none and the
  // path at the top level.
  absl::Status Error(const YAML::Node& node, const std::string& path,
                     absl::string_view what) const {
    const YAML::Mark mark = node.Mark();
    return absl::InvalidArgumentError(
        absl::StrCat(source_, mark.is_null() ? "" : absl::StrCat(":", mark.line + 1), ": ",
                     path.empty() ? "" : path + ": ", what));
  }

  const std::string& source_;
};

// ":<line>:<column>" of a yaml-cpp exception, when it has a place.
std::string Where(const YAML::Mark& mark) {
  return mark.is_null() ? "" : absl::StrCat(":", mark.line + 1, ":", mark.column + 1);
}

}  // namespace

absl::Status ParseYamlIntoMessage(const std::string& yaml_text, const std::string& source_name,
                                  Message* message) {
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(yaml_text);
    if (documents.size() > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_name, ": holds ", documents.size(),
                       " YAML documents (separated by \"---\"); put the whole configuration in "
                       "one"));
    }
    if (documents.empty()) return absl::OkStatus();  // empty text or only comments
    return YamlToProto(source_name).MapMessage(documents[0], "", message);
  } catch (const YAML::ParserException& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, Where(e.mark), ": YAML syntax error: ", e.msg));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, Where(e.mark), ": ", e.msg));
  }
}

}  // namespace fabric
