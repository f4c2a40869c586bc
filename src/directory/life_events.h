#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"

// Life events: what happened to someone ("I lost my job", "I'm having a baby", "Someone has
// died", "I lost my wallet"), each with the steps to take in order, the services of the
// directory for each step, the questions a screening will ask and the programs it may find.
// Configured in a YAML file (config/life-events.yaml); docs/directory.md.
namespace directory {

enum class StepAction { kInformation, kScreening, kReferral, kAppointment };

struct LifeEventStep {
  std::string title;
  std::string text;
  std::string search;  // directory search words for the step's services
  std::string topic;   // or a topic of the directory (a taxonomy term's name)
  StepAction action = StepAction::kInformation;
};

struct LifeEvent {
  std::string id;
  std::string title;
  std::string summary;
  std::vector<std::string> questions;  // input names of the eligibility rules
  std::vector<std::string> programs;   // program ids of the eligibility rules
  std::vector<LifeEventStep> steps;
};

// What the rules know, to check a life events file against: input name -> its question, and
// program id -> its name.
struct RuleNames {
  std::map<std::string, std::string> questions;
  std::map<std::string, std::string> programs;
};

class LifeEvents {
 public:
  // Errors name the file and line: an unknown key, a missing title, a question or program the
  // rules do not have, a repeated id.
  static core::StatusOr<LifeEvents> Parse(const std::string& text, const std::string& file, const RuleNames& rules);
  static core::StatusOr<LifeEvents> Load(const std::string& path, const RuleNames& rules);

  const std::vector<LifeEvent>& events() const { return events_; }
  const LifeEvent* Find(const std::string& id) const;
  const RuleNames& rules() const { return rules_; }

 private:
  std::vector<LifeEvent> events_;
  RuleNames rules_;
};

std::string_view StepActionName(StepAction a);  // "screening"

}  // namespace directory
