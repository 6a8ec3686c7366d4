#include "device/xrt/xclbin_writer.h"

#include <uuid/uuid.h>
#include <xclbin.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace fabric {
namespace {

// Compute units sit on the control AXI-lite bus from here, one 64 KiB window each (the layout
// Vitis gives Alveo shells).
constexpr uint64_t kFirstCuAddress = 0x1800000;
constexpr uint64_t kCuWindow = 0x10000;
// Vitis HLS's ap_ctrl_hs register map: control, GIE, IER, ISR, then the arguments from 0x10;
// a pointer takes 12 bytes (low word, high word, reserved), a scalar 8 (value, reserved).
constexpr uint64_t kFirstArgRegister = 0x10;
constexpr uint64_t kPointerRegisterStride = 0xc;
constexpr uint64_t kScalarRegisterStride = 0x8;
constexpr size_t kMaxIpName = sizeof(ip_data::m_name) - 1;
// The XRT release the container format is taken from (Debian's libxrt 2.13.466).
constexpr uint8_t kVersionMajor = 2;
constexpr uint8_t kVersionMinor = 13;
constexpr uint16_t kVersionPatch = 466;

struct Section {
  axlf_section_kind kind;
  std::string_view name;
  std::string data;
};

std::string Hex(uint64_t value) { return absl::StrCat("0x", absl::Hex(value)); }

// Names become XML attributes and C identifiers in v++ configurations: keep them plain.
bool IsIdentifier(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// "gmem_w" -> "M_AXI_GMEM_W", the master port Vitis HLS makes of an m_axi bundle.
std::string PortName(std::string_view bundle) {
  return absl::StrCat("M_AXI_", absl::AsciiStrToUpper(std::string(bundle)));
}

std::string_view HostType(ArgKind kind) {
  switch (kind) {
    case ArgKind::kBuffer:
      return "void*";
    case ArgKind::kInt:
      return "int";
    case ArgKind::kFloat:
      return "float";
  }
  return "?";
}

std::string CuName(const XclbinKernel& kernel, int cu) {
  return absl::StrCat(kernel.name, "_", cu + 1);
}

absl::Status CheckDesign(const XclbinDesign& design) {
  if (design.platform == nullptr) return absl::InvalidArgumentError("xclbin design: no platform");
  for (const XclbinKernel& kernel : design.kernels) {
    if (!IsIdentifier(kernel.name) || kernel.compute_units < 1 ||
        kernel.name.size() * 2 + 12 > kMaxIpName) {
      return absl::InvalidArgumentError(absl::StrCat(
          "xclbin design: kernel '", kernel.name, "' needs a plain name of at most 25 characters",
          " and at least one compute unit"));
    }
    for (const XclbinArg& arg : kernel.args) {
      if (!IsIdentifier(arg.name)) {
        return absl::InvalidArgumentError(absl::StrCat("xclbin design: kernel ", kernel.name,
                                                       " has an argument '", arg.name,
                                                       "' that is not a plain name"));
      }
      if (arg.kind != ArgKind::kBuffer) continue;
      absl::StatusOr<std::vector<int>> banks = BundleBanks(*design.platform, arg.bundle);
      if (!banks.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("xclbin design: kernel ", kernel.name,
                                                       " argument ", arg.name, ": ",
                                                       banks.status().message()));
      }
    }
  }
  return absl::OkStatus();
}

// One <kernel> element of the embedded metadata, in the form Vitis writes (kernel.xml).
std::string KernelXml(const XclbinKernel& kernel, uint64_t* next_cu_address) {
  std::string xml =
      absl::StrCat("        <kernel name=\"", kernel.name,
                   "\" language=\"c\" vlnv=\"xilinx.com:hls:", kernel.name,
                   ":1.0\" preferredWorkGroupSizeMultiple=\"0\" workGroupSize=\"1\"",
                   " interrupt=\"true\" hwControlProtocol=\"ap_ctrl_hs\">\n",
                   "          <port name=\"S_AXI_CONTROL\" mode=\"slave\" range=\"", Hex(kCuWindow),
                   "\" dataWidth=\"32\" portType=\"addressable\" base=\"0x0\"/>\n");
  std::set<std::string> bundles;
  for (const XclbinArg& arg : kernel.args) {
    if (arg.kind == ArgKind::kBuffer && bundles.insert(arg.bundle).second) {
      absl::StrAppend(&xml, "          <port name=\"", PortName(arg.bundle),
                      "\" mode=\"master\" range=\"0xFFFFFFFFFFFFFFFF\" dataWidth=\"512\"",
                      " portType=\"addressable\" base=\"0x0\"/>\n");
    }
  }
  uint64_t offset = kFirstArgRegister;
  for (size_t i = 0; i < kernel.args.size(); ++i) {
    const XclbinArg& arg = kernel.args[i];
    const bool buffer = arg.kind == ArgKind::kBuffer;
    const int size = buffer ? 8 : 4;
    absl::StrAppend(&xml, "          <arg name=\"", arg.name, "\" addressQualifier=\"",
                    buffer ? 1 : 0, "\" id=\"", i, "\" port=\"",
                    buffer ? PortName(arg.bundle) : "S_AXI_CONTROL", "\" size=\"", Hex(size),
                    "\" offset=\"", Hex(offset), "\" hostOffset=\"0x0\" hostSize=\"", Hex(size),
                    "\" type=\"", std::string(HostType(arg.kind)), "\"/>\n");
    offset += buffer ? kPointerRegisterStride : kScalarRegisterStride;
  }
  for (int cu = 0; cu < kernel.compute_units; ++cu) {
    absl::StrAppend(&xml, "          <instance name=\"", CuName(kernel, cu), "\">\n",
                    "            <addrRemap base=\"", Hex(*next_cu_address), "\" range=\"",
                    Hex(kCuWindow), "\" port=\"s_axi_control\"/>\n", "          </instance>\n");
    *next_cu_address += kCuWindow;
  }
  xml += "        </kernel>\n";
  return xml;
}

std::string ProjectName(const XclbinDesign& design) {
  return absl::StrCat("fabric_", std::string(design.platform->name), "_",
                      std::string(ProfileName(design.profile)));
}

// The EMBEDDED_METADATA section: the XML XRT reads kernels and their arguments from.
std::string MetadataXml(const XclbinDesign& design) {
  const PlatformSpec& platform = *design.platform;
  int compute_units = 0;
  for (const XclbinKernel& kernel : design.kernels) compute_units += kernel.compute_units;
  std::string xml = absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project name=\"", ProjectName(design),
      "\">\n  <platform vendor=\"xilinx\" boardid=\"", std::string(platform.name), "\" name=\"",
      std::string(platform.vbnv), "\" featureRomTime=\"0\">\n",
      "    <version major=\"1\" minor=\"0\"/>\n    <description/>\n",
      "    <host architecture=\"x86_64\" interface=\"pcie\"/>\n", "    <device name=\"fpga0\"",
      " fpgaDevice=\"", std::string(platform.fpga_part), "\" addrWidth=\"0\">\n",
      "      <core name=\"OCL_REGION_0\" target=\"hw\" type=\"clc_region\" clockFreq=\"",
      platform.kernel_clock_mhz, "MHz\" numComputeUnits=\"", compute_units, "\">\n",
      "        <kernelClocks>\n          <clock port=\"KERNEL_CLK\" frequency=\"",
      platform.kernel_clock_mhz, "MHz\"/>\n        </kernelClocks>\n");
  uint64_t next_cu_address = kFirstCuAddress;
  for (const XclbinKernel& kernel : design.kernels) {
    xml += KernelXml(kernel, &next_cu_address);
  }
  xml += "      </core>\n    </device>\n  </platform>\n</project>\n";
  return xml;
}

template <typename T>
void AppendPod(const T& value, std::string* out) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

// A section that starts with an int32 count followed by `entries` at `entries_offset`.
template <typename Entry>
std::string CountedSection(size_t entries_offset, const std::vector<Entry>& entries) {
  std::string data(entries_offset, '\0');
  const int32_t count = static_cast<int32_t>(entries.size());
  std::memcpy(data.data(), &count, sizeof(count));
  for (const Entry& entry : entries) AppendPod(entry, &data);
  return data;
}

// MEM_TOPOLOGY: every bank of the platform, marked used when a port connects to it.
std::string MemTopology(const std::vector<PlatformBank>& banks, const std::set<int>& used) {
  std::vector<mem_data> entries;
  for (size_t i = 0; i < banks.size(); ++i) {
    mem_data entry{};
    entry.m_type = banks[i].type == BankType::kHbm ? MEM_HBM : MEM_DDR4;
    entry.m_used = used.count(static_cast<int>(i)) ? 1 : 0;
    entry.m_size = banks[i].bytes / 1024;  // in KiB
    entry.m_base_address = banks[i].base_address;
    std::strncpy(reinterpret_cast<char*>(entry.m_tag), banks[i].tag.c_str(),
                 sizeof(entry.m_tag) - 1);
    entries.push_back(entry);
  }
  return CountedSection(offsetof(mem_topology, m_mem_data), entries);
}

// IP_LAYOUT: one kernel IP per compute unit, in address order, named "<kernel>:<cu>".
std::string IpLayout(const XclbinDesign& design) {
  std::vector<ip_data> entries;
  uint64_t address = kFirstCuAddress;
  for (const XclbinKernel& kernel : design.kernels) {
    for (int cu = 0; cu < kernel.compute_units; ++cu) {
      ip_data entry{};
      entry.m_type = IP_KERNEL;
      // Interrupt enabled, interrupt id 0 for all (XRT then orders CUs by address), ap_ctrl_hs.
      entry.properties = IP_INT_ENABLE_MASK | (AP_CTRL_HS << IP_CONTROL_SHIFT);
      entry.m_base_address = address;
      address += kCuWindow;
      const std::string name = absl::StrCat(kernel.name, ":", CuName(kernel, cu));
      std::strncpy(reinterpret_cast<char*>(entry.m_name), name.c_str(), kMaxIpName);
      entries.push_back(entry);
    }
  }
  return CountedSection(offsetof(ip_layout, m_ip_data), entries);
}

// CONNECTIVITY: each buffer argument of each compute unit to each bank of its bundle's rule.
std::string Connectivity(const XclbinDesign& design, std::set<int>* used_banks) {
  std::vector<connection> entries;
  int ip_index = 0;
  for (const XclbinKernel& kernel : design.kernels) {
    for (int cu = 0; cu < kernel.compute_units; ++cu, ++ip_index) {
      for (size_t arg = 0; arg < kernel.args.size(); ++arg) {
        if (kernel.args[arg].kind != ArgKind::kBuffer) continue;
        // Checked by CheckDesign.
        const std::vector<int> banks = *BundleBanks(*design.platform, kernel.args[arg].bundle);
        for (int bank : banks) {
          entries.push_back({static_cast<int32_t>(arg), ip_index, bank});
          used_banks->insert(bank);
        }
      }
    }
  }
  return CountedSection(offsetof(connectivity, m_connection), entries);
}

void DeriveUuid(const XclbinDesign& design, const std::string& xml, unsigned char* out) {
  // A fixed namespace for Fabric's bitstreams; the name is the design's whole metadata.
  static const uuid_t kNamespace = {0x6f, 0x2b, 0x1c, 0x8e, 0x4a, 0x3d, 0x4e, 0x51,
                                    0x9a, 0x07, 0x5c, 0x2e, 0x11, 0xf0, 0xab, 0x42};
  const std::string name = absl::StrCat(ProjectName(design), "\n", xml);
  uuid_generate_sha1(out, kNamespace, name.data(), name.size());
}

std::string Assemble(const XclbinDesign& design, const std::string& xml,
                     std::vector<Section> sections) {
  auto align8 = [](size_t n) { return (n + 7) / 8 * 8; };
  const size_t headers = offsetof(axlf, m_sections) + sections.size() * sizeof(axlf_section_header);
  size_t offset = align8(headers);
  std::vector<axlf_section_header> section_headers;
  for (const Section& section : sections) {
    axlf_section_header header{};
    header.m_sectionKind = section.kind;
    std::strncpy(header.m_sectionName, std::string(section.name).c_str(),
                 sizeof(header.m_sectionName) - 1);
    header.m_sectionOffset = offset;
    header.m_sectionSize = section.data.size();
    section_headers.push_back(header);
    offset = align8(offset + section.data.size());
  }
  axlf top{};
  std::memcpy(top.m_magic, "xclbin2", 8);
  top.m_signature_length = -1;
  std::memset(top.reserved, 0xff, sizeof(top.reserved));
  std::memset(top.m_keyBlock, 0xff, sizeof(top.m_keyBlock));
  top.m_header.m_length = offset;
  top.m_header.m_versionMajor = kVersionMajor;
  top.m_header.m_versionMinor = kVersionMinor;
  top.m_header.m_versionPatch = kVersionPatch;
  top.m_header.m_mode = XCLBIN_FLAT;
  std::strncpy(reinterpret_cast<char*>(top.m_header.m_platformVBNV),
               std::string(design.platform->vbnv).c_str(), sizeof(top.m_header.m_platformVBNV) - 1);
  DeriveUuid(design, xml, top.m_header.uuid);
  top.m_header.m_numSections = static_cast<uint32_t>(sections.size());

  std::string bytes(reinterpret_cast<const char*>(&top), offsetof(axlf, m_sections));
  for (const axlf_section_header& header : section_headers) AppendPod(header, &bytes);
  for (size_t i = 0; i < sections.size(); ++i) {
    bytes.resize(section_headers[i].m_sectionOffset, '\0');
    bytes += sections[i].data;
  }
  bytes.resize(offset, '\0');
  return bytes;
}

}  // namespace

XclbinDesign FabricDesign(const PlatformSpec& platform, KernelProfile profile) {
  XclbinDesign design{&platform, profile, {}};
  for (std::string_view name : ProfileKernels(profile)) {
    const KernelSpec* spec = FindKernelSpec(name);
    XclbinKernel kernel{std::string(name), {}, 1};
    for (const ArgSpec& arg : spec->args) {
      kernel.args.push_back({std::string(arg.name), arg.kind, std::string(arg.bundle)});
    }
    design.kernels.push_back(std::move(kernel));
  }
  return design;
}

absl::StatusOr<std::string> WriteXclbin(const XclbinDesign& design) {
  RETURN_IF_ERROR(CheckDesign(design));
  std::string xml = MetadataXml(design);
  std::set<int> used_banks;
  std::string connectivity = Connectivity(design, &used_banks);
  std::vector<Section> sections;
  sections.push_back({EMBEDDED_METADATA, "metadata", xml});
  sections.push_back(
      {MEM_TOPOLOGY, "mem_topology", MemTopology(PlatformBanks(*design.platform), used_banks)});
  sections.push_back({IP_LAYOUT, "ip_layout", IpLayout(design)});
  sections.push_back({CONNECTIVITY, "connectivity", std::move(connectivity)});
  return Assemble(design, xml, std::move(sections));
}

absl::StatusOr<std::string> WriteFabricXclbin(std::string_view platform, KernelProfile profile) {
  const PlatformSpec* spec = FindPlatform(platform);
  if (spec == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown platform '", std::string(platform), "' (known: u280, u55c)"));
  }
  return WriteXclbin(FabricDesign(*spec, profile));
}

absl::Status WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  file.close();
  if (!file) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace fabric
