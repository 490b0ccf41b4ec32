-- wrk script: verify each key of KEYS_FILE at most once, in order (a cache-miss measurement).
-- Meant for one connection and a run shorter than the file: when the keys run out, requests go to a missing route.
local keys = {}
local index = 0

function init(args)
  for line in io.lines(os.getenv("KEYS_FILE")) do
    if #line > 0 then keys[#keys + 1] = line end
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("AUTH_KEY")
end

function request()
  index = index + 1
  if index > #keys then return wrk.format("GET", "/keys-exhausted") end
  return wrk.format(nil, "/api/v1/keys/verify", nil, '{"key":"' .. keys[index] .. '"}')
end
