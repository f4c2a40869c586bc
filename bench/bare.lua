request = function()
  return wrk.format("GET", "/api/v1/persons/1")
end
