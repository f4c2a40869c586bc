#include "directory/life_events.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace directory {
namespace {

using core::Status;

std::string At(const std::string& file, const YAML::Node& n) { return fmt::format("{}:{}", file, n.Mark().line + 1); }

Status CheckKeys(const std::string& file, const YAML::Node& map, std::initializer_list<const char*> allowed) {
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return Status::InvalidArgument(fmt::format("{}: unknown key '{}' (expected {})", At(file, kv.first), key, list));
    }
  }
  return Status::Ok();
}

core::StatusOr<std::string> Text(const std::string& file, const YAML::Node& map, const char* key, bool required) {
  const YAML::Node n = map[key];
  if (!n) {
    if (required) return Status::InvalidArgument(fmt::format("{}: `{}` is missing", At(file, map), key));
    return std::string();
  }
  if (!n.IsScalar() || n.Scalar().empty()) {
    return Status::InvalidArgument(fmt::format("{}: `{}` must be text", At(file, n), key));
  }
  return n.Scalar();
}

core::StatusOr<std::vector<std::string>> List(const std::string& file, const YAML::Node& map, const char* key) {
  std::vector<std::string> out;
  const YAML::Node n = map[key];
  if (!n) return out;
  if (!n.IsSequence()) return Status::InvalidArgument(fmt::format("{}: `{}` must be a list", At(file, n), key));
  for (const auto& item : n) {
    if (!item.IsScalar()) return Status::InvalidArgument(fmt::format("{}: `{}` must list names", At(file, item), key));
    out.push_back(item.Scalar());
  }
  return out;
}

}  // namespace

std::string_view StepActionName(StepAction a) {
  switch (a) {
    case StepAction::kInformation: return "information";
    case StepAction::kScreening: return "screening";
    case StepAction::kReferral: return "referral";
    case StepAction::kAppointment: return "appointment";
  }
  return "information";
}

core::StatusOr<LifeEvents> LifeEvents::Parse(const std::string& text, const std::string& file, const RuleNames& rules) {
  LifeEvents out;
  out.rules_ = rules;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("{}:{}:{}: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (!root.IsMap() || !root["life_events"] || !root["life_events"].IsSequence()) {
    return Status::InvalidArgument(file + ": must have `life_events:`, a list of life events");
  }
  RETURN_IF_ERROR(CheckKeys(file, root, {"life_events"}));
  std::set<std::string> ids;
  for (const YAML::Node& e : root["life_events"]) {
    if (!e.IsMap()) return Status::InvalidArgument(At(file, e) + ": a life event is a map with id, title, steps…");
    RETURN_IF_ERROR(CheckKeys(file, e, {"id", "title", "summary", "questions", "programs", "steps"}));
    LifeEvent ev;
    ASSIGN_OR_RETURN(ev.id, Text(file, e, "id", true));
    for (char c : ev.id) {
      if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) && c != '-') {
        return Status::InvalidArgument(fmt::format("{}: the id '{}' may hold only a-z, 0-9 and -", At(file, e["id"]), ev.id));
      }
    }
    if (!ids.insert(ev.id).second) {
      return Status::InvalidArgument(fmt::format("{}: the id '{}' is used twice", At(file, e["id"]), ev.id));
    }
    ASSIGN_OR_RETURN(ev.title, Text(file, e, "title", true));
    ASSIGN_OR_RETURN(ev.summary, Text(file, e, "summary", false));
    ASSIGN_OR_RETURN(ev.questions, List(file, e, "questions"));
    for (size_t i = 0; i < ev.questions.size(); ++i) {
      if (!rules.questions.count(ev.questions[i])) {
        return Status::InvalidArgument(fmt::format("{}: '{}' is not a question of the rules (an input of rules/inputs.yaml)",
                                                   At(file, e["questions"][i]), ev.questions[i]));
      }
    }
    ASSIGN_OR_RETURN(ev.programs, List(file, e, "programs"));
    for (size_t i = 0; i < ev.programs.size(); ++i) {
      if (!rules.programs.count(ev.programs[i])) {
        return Status::InvalidArgument(fmt::format("{}: '{}' is not a program of the rules", At(file, e["programs"][i]),
                                                   ev.programs[i]));
      }
    }
    const YAML::Node steps = e["steps"];
    if (!steps || !steps.IsSequence() || steps.size() == 0) {
      return Status::InvalidArgument(At(file, e) + ": `steps` must list at least one step");
    }
    for (const YAML::Node& st : steps) {
      if (!st.IsMap()) return Status::InvalidArgument(At(file, st) + ": a step is a map with title and text");
      RETURN_IF_ERROR(CheckKeys(file, st, {"title", "text", "search", "topic", "action"}));
      LifeEventStep step;
      ASSIGN_OR_RETURN(step.title, Text(file, st, "title", true));
      ASSIGN_OR_RETURN(step.text, Text(file, st, "text", true));
      ASSIGN_OR_RETURN(step.search, Text(file, st, "search", false));
      ASSIGN_OR_RETURN(step.topic, Text(file, st, "topic", false));
      ASSIGN_OR_RETURN(std::string action, Text(file, st, "action", false));
      if (action.empty() || action == "information") step.action = StepAction::kInformation;
      else if (action == "screening") step.action = StepAction::kScreening;
      else if (action == "referral") step.action = StepAction::kReferral;
      else if (action == "appointment") step.action = StepAction::kAppointment;
      else {
        return Status::InvalidArgument(fmt::format(
            "{}: action must be information, screening, referral or appointment", At(file, st["action"])));
      }
      if (step.action == StepAction::kReferral && step.search.empty() && step.topic.empty()) {
        return Status::InvalidArgument(At(file, st) + ": a referral step needs `search` or `topic` to find its services");
      }
      ev.steps.push_back(std::move(step));
    }
    out.events_.push_back(std::move(ev));
  }
  return out;
}

core::StatusOr<LifeEvents> LifeEvents::Load(const std::string& path, const RuleNames& rules) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("cannot read the life events file {}", path));
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path, rules);
}

const LifeEvent* LifeEvents::Find(const std::string& id) const {
  for (const auto& e : events_) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

}  // namespace directory
