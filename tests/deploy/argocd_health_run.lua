-- Runs an Argo CD health script the way Argo CD does: the live object as the global `obj`, the returned
-- table's status and message shown. Prints "STATUS | MESSAGE".
-- Usage: lua5.4 argocd_health_run.lua OBJECT.lua HEALTH.lua
local object = assert(loadfile(arg[1]))()
local env = setmetatable({ obj = object }, { __index = _G })
local health = assert(loadfile(arg[2], "t", env))()
assert(type(health) == "table", "the health script returned no table")
assert(health.status ~= nil, "the health script returned no status")
print(health.status .. " | " .. (health.message or ""))
