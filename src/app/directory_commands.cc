#include "app/directory_commands.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "accounts/account_service.h"
#include "app/app.h"

namespace app {
namespace {

constexpr char kUsage[] =
    "usage: onedoor directory import [--type TABLE] [--replace] PATH\n"
    "       onedoor directory export --format json|csv OUT\n"
    "PATH is an HSDS JSON file (a bundle, or with --type one service, organization… or a list of them)\n"
    "or a folder with the HSDS CSV data package (services.csv, organizations.csv, …).\n"
    "export writes a JSON bundle to the file OUT, or the CSV data package into the folder OUT.";

int Usage(const std::string& what) {
  std::fprintf(stderr, "onedoor: %s\n%s\n", what.c_str(), kUsage);
  return 2;
}

// Every problem, one per line, after the summary.
int Fail(const core::Status& s) {
  std::fprintf(stderr, "onedoor: %s: %s\n", std::string(core::StatusCodeName(s.code())).c_str(), s.message().c_str());
  for (const auto& f : s.fields()) std::fprintf(stderr, "  %s: %s\n", f.field.c_str(), f.message.c_str());
  return 1;
}

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

core::Status ReadDirectoryFiles(const std::string& path, const std::string& type, directory::Dataset& out) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    if (!type.empty()) return core::Status::InvalidArgument("--type is for a JSON file, not a CSV data package");
    std::map<std::string, std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (!entry.is_regular_file()) continue;
      const std::string name = entry.path().filename().string();
      if (entry.path().extension() == ".csv" || name == "datapackage.json") files[name] = Slurp(entry.path());
    }
    if (files.empty()) return core::Status::InvalidArgument(path + " has no CSV files of the HSDS data package");
    return directory::ReadCsvPackage(files, out);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Status::NotFound("cannot open " + path);
  const std::string name = std::filesystem::path(path).filename().string();
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    return core::Status::InvalidArgument(name + ": not JSON: " + e.what());
  }
  return directory::FlattenDocument(doc, type, name, out);
}

int DirectoryCommand(const core::Config& config, const std::vector<std::string>& args) {
  if (args.size() < 2) return Usage("say import or export");
  std::map<std::string, std::string> flags;
  bool replace = false;
  std::string path;
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--replace") {
      replace = true;
    } else if (args[i] == "--type" || args[i] == "--format") {
      if (i + 1 >= args.size()) return Usage(args[i] + " needs a value");
      flags[args[i].substr(2)] = args[i + 1];
      ++i;
    } else if (args[i].rfind("--", 0) == 0) {
      return Usage("unknown option " + args[i]);
    } else if (path.empty()) {
      path = args[i];
    } else {
      return Usage("give one PATH");
    }
  }
  if (path.empty()) return Usage("give the PATH");
  if (args[1] == "import") {
    if (flags.count("format")) return Usage("--format is for export");
    directory::Dataset data;
    if (auto s = ReadDirectoryFiles(path, flags["type"], data); !s.ok()) return Fail(s);
    auto app = App::Open(config, false);
    if (!app.ok()) return Fail(app.status());
    auto report = (*app)->service_directory().Import(accounts::AccountService::SystemPrincipal("cli"), data, replace);
    if (!report.ok()) return Fail(report.status());
    std::string tables;
    for (const auto& [t, n] : report->rows) tables += (tables.empty() ? "" : ", ") + std::to_string(n) + " " + t;
    std::printf("imported %s (%s): %lld added, %lld changed, %lld unchanged, %lld removed; the directory has %lld "
                "services\n",
                path.c_str(), tables.c_str(), static_cast<long long>(report->added),
                static_cast<long long>(report->changed), static_cast<long long>(report->unchanged),
                static_cast<long long>(report->removed), static_cast<long long>(report->services));
    if (report->dangling > 0) {
      std::printf("%lld references point at rows that are not in the directory:\n",
                  static_cast<long long>(report->dangling));
      for (const auto& w : report->warnings) std::printf("  %s\n", w.c_str());
    }
    return 0;
  }
  if (args[1] == "export") {
    if (flags.count("type") || replace) return Usage("--type and --replace are for import");
    const std::string format = flags.count("format") ? flags["format"] : "json";
    if (format != "json" && format != "csv") return Usage("--format must be json or csv");
    auto app = App::Open(config, false);
    if (!app.ok()) return Fail(app.status());
    auto data = (*app)->service_directory().Export();
    if (!data.ok()) return Fail(data.status());
    if (format == "json") {
      std::ofstream out(path, std::ios::binary);
      out << directory::Bundle(*data).dump(2) << "\n";
      if (!out) return Fail(core::Status::Unavailable("cannot write " + path));
    } else {
      std::error_code ec;
      std::filesystem::create_directories(path, ec);
      for (const auto& [name, text] : directory::CsvPackage(*data)) {
        std::ofstream out(std::filesystem::path(path) / name, std::ios::binary);
        out << text;
        if (!out) return Fail(core::Status::Unavailable("cannot write " + (std::filesystem::path(path) / name).string()));
      }
    }
    std::printf("exported %zu rows to %s\n", data->size(), path.c_str());
    return 0;
  }
  return Usage("say import or export");
}

}  // namespace app
