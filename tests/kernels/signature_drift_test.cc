// Signature drift: the HLS sources, kernels.h and the kernel library must agree with the
// signature table (kernels/kernel_signatures.h), which the mock device, the XRT device and the
// xclbin writer trust. For every kernel in the table, kernels/<name>.cc must define
// extern "C" <name> with the table's arguments in order, and its INTERFACE pragmas must name
// exactly the table's ports: m_axi with offset=slave and the table's bundle for buffers,
// s_axilite for scalars, plus s_axilite port=return.
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/kernel_signatures.h"

namespace fabric {
namespace {

std::string ReadSource(const std::string& relative_path) {
  std::ifstream file(std::string(FABRIC_SOURCE_DIR) + "/" + relative_path);
  std::stringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

// Removes // and /* */ comments, so commented-out code does not count.
std::string StripComments(const std::string& source) {
  static const std::regex kComments(R"(//[^\n]*|/\*[\s\S]*?\*/)");
  return std::regex_replace(source, kComments, "");
}

struct Param {
  std::string type, name;
};

// "const float* w, int n_in" -> {{"const float*", "w"}, {"int", "n_in"}}
std::vector<Param> ParseParams(const std::string& list) {
  static const std::regex kParam(R"(^\s*([\s\S]*?[\s*&])(\w+)\s*$)");
  std::vector<Param> params;
  std::stringstream stream(list);
  std::string piece;
  while (std::getline(stream, piece, ',')) {
    std::smatch match;
    if (!std::regex_match(piece, match, kParam)) {
      params.push_back({"?", piece});
      continue;
    }
    std::string type = std::regex_replace(match[1].str(), std::regex(R"(\s+)"), " ");
    type = std::regex_replace(type, std::regex(R"(^ | $)"), "");
    params.push_back({type, match[2].str()});
  }
  return params;
}

std::string KindOfType(const std::string& type) {
  if (type.find('*') != std::string::npos) return "buffer";
  if (type == "int") return "int";
  if (type == "float") return "float";
  return "unknown type '" + type + "'";
}

// Everything wrong with `source` as the HLS source of `spec`; empty when it conforms.
std::vector<std::string> CheckKernelSource(const KernelSpec& spec, const std::string& raw) {
  std::vector<std::string> problems;
  const std::string source = StripComments(raw);
  const std::string name(spec.name);

  // The one extern "C" function, named like the file, with the table's arguments.
  static const std::regex kExternC(R"(extern\s+"C")");
  static const std::regex kDefinition(R"(extern\s+"C"\s+void\s+(\w+)\s*\(([^)]*)\)\s*\{)");
  const auto n_extern = std::distance(std::sregex_iterator(source.begin(), source.end(), kExternC),
                                      std::sregex_iterator());
  std::vector<std::smatch> definitions;
  for (auto it = std::sregex_iterator(source.begin(), source.end(), kDefinition);
       it != std::sregex_iterator(); ++it) {
    definitions.push_back(*it);
  }
  if (n_extern != 1 || definitions.size() != 1) {
    problems.push_back("expected exactly one extern \"C\" void function definition, found " +
                       std::to_string(definitions.size()) + " among " + std::to_string(n_extern) +
                       " extern \"C\"");
  }
  if (!definitions.empty()) {
    if (definitions[0][1].str() != name) {
      problems.push_back("extern \"C\" function is named " + definitions[0][1].str());
    }
    const std::vector<Param> params = ParseParams(definitions[0][2].str());
    if (params.size() != spec.args.size()) {
      problems.push_back("has " + std::to_string(params.size()) + " parameters, table has " +
                         std::to_string(spec.args.size()));
    }
    for (size_t i = 0; i < params.size() && i < spec.args.size(); ++i) {
      const ArgSpec& arg = spec.args[i];
      if (params[i].name != arg.name) {
        problems.push_back("parameter " + std::to_string(i) + " is " + params[i].name +
                           ", table says " + std::string(arg.name));
      }
      if (KindOfType(params[i].type) != ArgKindName(arg.kind)) {
        problems.push_back("parameter " + params[i].name + " is " + KindOfType(params[i].type) +
                           ", table says " + std::string(ArgKindName(arg.kind)));
      }
    }
  }

  // INTERFACE pragmas: port -> list of "mode bundle offset" settings.
  static const std::regex kInterface(R"(#pragma\s+HLS\s+INTERFACE\b([^\n]*))");
  static const std::regex kSetting(R"((\w+)(?:\s*=\s*(\w+))?)");
  std::map<std::string, std::vector<std::map<std::string, std::string>>> by_port;
  for (auto it = std::sregex_iterator(source.begin(), source.end(), kInterface);
       it != std::sregex_iterator(); ++it) {
    std::map<std::string, std::string> settings;
    const std::string text = (*it)[1].str();
    for (auto s = std::sregex_iterator(text.begin(), text.end(), kSetting);
         s != std::sregex_iterator(); ++s) {
      if ((*s)[2].matched) {
        settings[(*s)[1].str()] = (*s)[2].str();
      } else if (!settings.count("mode")) {
        settings["mode"] = (*s)[1].str();  // the positional form: INTERFACE m_axi port=...
      } else {
        problems.push_back("unexpected word '" + (*s)[1].str() + "' in" + text);
      }
    }
    by_port[settings["port"]].push_back(settings);
  }
  for (const ArgSpec& arg : spec.args) {
    const std::string port(arg.name);
    const auto found = by_port.find(port);
    if (found == by_port.end() || found->second.size() != 1) {
      problems.push_back("port " + port + " needs exactly one INTERFACE pragma, has " +
                         std::to_string(found == by_port.end() ? 0 : found->second.size()));
      continue;
    }
    std::map<std::string, std::string> settings = found->second[0];
    settings.erase("port");
    const std::map<std::string, std::string> expected =
        arg.kind == ArgKind::kBuffer
            ? std::map<std::string, std::string>{{"mode", "m_axi"},
                                                 {"offset", "slave"},
                                                 {"bundle", std::string(arg.bundle)}}
            : std::map<std::string, std::string>{{"mode", "s_axilite"}};
    if (settings != expected) {
      std::string got;
      for (const auto& [key, value] : settings) got += " " + key + "=" + value;
      problems.push_back("port " + port + " pragma has" + got);
    }
    by_port.erase(found);
  }
  const auto ret = by_port.find("return");
  if (ret == by_port.end() || ret->second.size() != 1 ||
      ret->second[0] !=
          std::map<std::string, std::string>{{"mode", "s_axilite"}, {"port", "return"}}) {
    problems.push_back("needs exactly one '#pragma HLS INTERFACE s_axilite port=return'");
  }
  if (ret != by_port.end()) by_port.erase(ret);
  for (const auto& [port, settings] : by_port) {
    problems.push_back("INTERFACE pragma for port '" + port + "', which is not in the table");
  }
  return problems;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string joined;
  for (const std::string& line : lines) joined += "\n  " + line;
  return joined;
}

TEST(SignatureDriftTest, EveryKernelSourceMatchesTheTable) {
  for (const KernelSpec& spec : kKernelSpecs) {
    const std::string path = "kernels/" + std::string(spec.name) + ".cc";
    const std::string source = ReadSource(path);
    ASSERT_FALSE(source.empty()) << "cannot read " << path;
    const std::vector<std::string> problems = CheckKernelSource(spec, source);
    EXPECT_TRUE(problems.empty()) << path << ":" << Join(problems);
  }
}

TEST(SignatureDriftTest, KernelsHeaderDeclaresEveryKernelWithTheTableArguments) {
  const std::string header = StripComments(ReadSource("kernels/kernels.h"));
  ASSERT_FALSE(header.empty());
  for (const KernelSpec& spec : kKernelSpecs) {
    const std::regex declaration("void\\s+" + std::string(spec.name) + R"(\s*\(([^)]*)\)\s*;)");
    std::smatch match;
    ASSERT_TRUE(std::regex_search(header, match, declaration)) << spec.name;
    const std::vector<Param> params = ParseParams(match[1].str());
    ASSERT_EQ(params.size(), spec.args.size()) << spec.name;
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_EQ(params[i].name, spec.args[i].name) << spec.name;
      EXPECT_EQ(KindOfType(params[i].type), ArgKindName(spec.args[i].kind))
          << spec.name << " " << params[i].name;
    }
  }
}

TEST(SignatureDriftTest, KernelLibraryBuildsExactlyTheTableKernels) {
  const std::string cmake = StripComments(ReadSource("kernels/CMakeLists.txt"));
  std::smatch library;
  ASSERT_TRUE(
      std::regex_search(cmake, library, std::regex(R"(add_library\(fabric_kernels\s([^)]*)\))")));
  std::set<std::string> listed;
  const std::string sources = library[1].str();
  static const std::regex kSource(R"((\w+)\.cc)");
  for (auto it = std::sregex_iterator(sources.begin(), sources.end(), kSource);
       it != std::sregex_iterator(); ++it) {
    listed.insert((*it)[1].str());
  }
  std::set<std::string> table;
  for (const KernelSpec& spec : kKernelSpecs) table.insert(std::string(spec.name));
  EXPECT_EQ(listed, table);
}

// The checker itself must reject sources that drift; each mutation below breaks one rule.
class SignatureCheckerTest : public ::testing::Test {
 protected:
  const KernelSpec& spec_ = *FindKernelSpec("matvec_q8_0");
  const std::string source_ = ReadSource("kernels/matvec_q8_0.cc");

  std::vector<std::string> CheckWith(const std::string& from, const std::string& to) {
    const size_t at = source_.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    std::string mutated = source_;
    if (at != std::string::npos) mutated.replace(at, from.size(), to);
    return CheckKernelSource(spec_, mutated);
  }
};

TEST_F(SignatureCheckerTest, AcceptsTheRealSource) {
  EXPECT_TRUE(CheckKernelSource(spec_, source_).empty()) << Join(CheckKernelSource(spec_, source_));
}

TEST_F(SignatureCheckerTest, RejectsDrift) {
  EXPECT_FALSE(
      CheckWith("port=w offset=slave bundle=gmem_w", "port=w offset=slave bundle=gmem_in").empty());
  EXPECT_FALSE(CheckWith("port=w offset=slave bundle=gmem_w", "port=w bundle=gmem_w").empty());
  EXPECT_FALSE(CheckWith("#pragma HLS INTERFACE s_axilite port=return", "").empty());
  EXPECT_FALSE(CheckWith("#pragma HLS INTERFACE s_axilite port=n_in", "").empty());
  EXPECT_FALSE(
      CheckWith("s_axilite port=n_in", "m_axi port=n_in offset=slave bundle=gmem_in").empty());
  EXPECT_FALSE(CheckWith("#pragma HLS INTERFACE s_axilite port=begin",
                         "#pragma HLS INTERFACE s_axilite port=begin\n"
                         "#pragma HLS INTERFACE s_axilite port=extra")
                   .empty());
  EXPECT_FALSE(CheckWith("#pragma HLS INTERFACE s_axilite port=begin",
                         "// #pragma HLS INTERFACE s_axilite port=begin")
                   .empty());
  EXPECT_FALSE(CheckWith("extern \"C\" void matvec_q8_0(", "extern \"C\" void matvec_q8(").empty());
  EXPECT_FALSE(CheckWith("int n_in, int n_out", "int n, int n_out").empty());
  EXPECT_FALSE(CheckWith("int n_in, int n_out", "float n_in, int n_out").empty());
  EXPECT_FALSE(CheckWith("int n_tokens, int n_in, int n_out,", "int n_in, int n_out,").empty());
}

}  // namespace
}  // namespace fabric
