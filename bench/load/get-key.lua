-- wrk script: GET /api/v1/orgs/{org}/api-keys/{id} for ids taken in turn from IDS_FILE ("orgId keyId" per line).
local paths = {}
local index = 1

function init(args)
  for line in io.lines(os.getenv("IDS_FILE")) do
    local org, id = line:match("^(%S+)%s+(%S+)$")
    if org then paths[#paths + 1] = "/api/v1/orgs/" .. org .. "/api-keys/" .. id end
  end
  index = math.random(#paths)
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("AUTH_KEY")
end

function request()
  index = index % #paths + 1
  return wrk.format("GET", paths[index])
end
