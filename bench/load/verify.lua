-- wrk script: POST /api/v1/keys/verify with keys taken in turn from the file named by KEYS_FILE.
-- The verifying credential is in AUTH_KEY. Each thread starts at a different offset.
local keys = {}
local index = 1

local function load_keys()
  local path = os.getenv("KEYS_FILE")
  for line in io.lines(path) do
    if #line > 0 then keys[#keys + 1] = line end
  end
end

function init(args)
  load_keys()
  index = math.random(#keys)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  local auth = os.getenv("AUTH_KEY")
  if auth and #auth > 0 then wrk.headers["Authorization"] = "Bearer " .. auth end
end

function request()
  index = index % #keys + 1
  return wrk.format(nil, "/api/v1/keys/verify", nil, '{"key":"' .. keys[index] .. '"}')
end
