#pragma once

#include <nlohmann/json_fwd.hpp>

#include "cases/work_queue.h"
#include "http/router.h"

namespace http {

// /api/v1/teams (list, create), /api/v1/teams/{id}/members, /api/v1/work (the caller's queue)
// and /api/v1/work/{id}/actions (claim, release, assign, escalate, done).
void AddWorkRoutes(Router& router, cases::WorkQueueService& work);

nlohmann::json WorkItemJson(const cases::WorkItem& w);
nlohmann::json TeamJson(const cases::Team& t);

}  // namespace http
