-- wrk script for bench/load/oauth.sh: OAuth requests authenticated by client_secret_basic, rotating
-- over the clients of CLIENTS_FILE, whose lines are "clientId secret" or "clientId secret accessToken".
--   MODE=token       POST /oauth/token       grant_type=client_credentials
--   MODE=introspect  POST /oauth/introspect  token=<the line's access token>, as the client that owns it
-- Every request is built once in init(); each thread starts at a random offset.
local requests = {}
local index = 1

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function sextet(n)
  return alphabet:sub(n + 1, n + 1)
end

-- Standard base64 with padding, three bytes at a time (wrk's Lua has no built-in encoder).
local function base64(text)
  local out = {}
  for i = 1, #text, 3 do
    local a, b, c = text:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    out[#out + 1] = sextet(math.floor(n / 262144) % 64) .. sextet(math.floor(n / 4096) % 64)
      .. (b and sextet(math.floor(n / 64) % 64) or "=") .. (c and sextet(n % 64) or "=")
  end
  return table.concat(out)
end

-- RFC 6749 §2.3.1: the id and the secret are form-urlencoded before they are joined by ':'.
local function form_encode(text)
  return (text:gsub("[^%w%-%._~]", function(ch) return string.format("%%%02X", ch:byte()) end))
end

function init(args)
  local mode = os.getenv("MODE") or "token"
  local path = mode == "introspect" and "/oauth/introspect" or "/oauth/token"
  for line in io.lines(os.getenv("CLIENTS_FILE")) do
    local id, secret, token = line:match("^(%S+)%s+(%S+)%s*(%S*)$")
    if id then
      local headers = {
        ["Authorization"] = "Basic " .. base64(form_encode(id) .. ":" .. form_encode(secret)),
        ["Content-Type"] = "application/x-www-form-urlencoded",
      }
      local body
      if mode == "introspect" then
        assert(#token > 0, "MODE=introspect needs lines 'clientId secret accessToken'")
        body = "token=" .. token .. "&token_type_hint=access_token"
      else
        body = "grant_type=client_credentials"
      end
      requests[#requests + 1] = wrk.format("POST", path, headers, body)
    end
  end
  assert(#requests > 0, "no clients in CLIENTS_FILE")
  index = math.random(#requests)
end

function request()
  index = index % #requests + 1
  return requests[index]
end
