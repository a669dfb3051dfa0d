-- random hash-only POST /v1/match (no match: the common case)
local key = os.getenv("BENCH_KEY")
math.randomseed(os.time())
local hex = "0123456789abcdef"
request = function()
  local t = {}
  for i = 1, 64 do local n = math.random(1, 16); t[i] = hex:sub(n, n) end
  local body = '{"signals":{"pdq":"' .. table.concat(t) .. '"}}'
  return wrk.format("POST", "/v1/match", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}, body)
end
