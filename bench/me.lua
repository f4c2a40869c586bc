-- GET /api/v1/me: token authentication and the dispatcher, without person data or audit.
local token = os.getenv("ONEDOOR_TOKEN")
request = function()
  return wrk.format("GET", "/api/v1/me", {["Authorization"] = "Bearer " .. token})
end
