-- GET a random client record through the full path (auth, access gate, audit entry).
local token = os.getenv("ONEDOOR_TOKEN")
local max_id = tonumber(os.getenv("MAX_ID") or "300")
math.randomseed(42)
request = function()
  local id = math.random(1, max_id)
  return wrk.format("GET", "/api/v1/persons/" .. id, {["Authorization"] = "Bearer " .. token})
end
