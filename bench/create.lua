-- POST a new client record: validation, insert, indexes, history, audit and outbox in one
-- durable transaction.
local token = os.getenv("ONEDOOR_TOKEN")
local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"names":[{"given":"Bench%d","family":"Person%d"}],"birth_date":"1980-01-%02d",' ..
    '"sex":"female","phones":[{"value":"0400 000 %03d"}],"addresses":[{"line1":"%d Bench Street","city":"Riverside"}]}',
    n, n, (n % 28) + 1, n % 1000, n)
  return wrk.format("POST", "/api/v1/persons",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
