-- Argo CD health check for virtsnap's Domain, Snapshot and SnapshotRevert (virtsnap.io), in kstatus's order,
-- which is how the agent writes its conditions (reconcilers/conditions.h): Ready, Reconciling, Stalled, and
-- DeletionBlocked on a Snapshot whose deletion libvirt or the tree refuses. Argo CD calls it with the live
-- object in `obj` and shows the returned status and message. Install: deploy/README.md (argocd-cm).
local hs = {}

local function condition(conditions, type)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

local function describe(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c ~= nil and c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
end

local status = obj.status
if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the virtsnap agent to reconcile"
  return hs
end

local generation = obj.metadata ~= nil and obj.metadata.generation or nil
if status.observedGeneration ~= nil and generation ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the virtsnap agent to observe generation " .. tostring(generation)
  return hs
end

local conditions = status.conditions
local reconciling = condition(conditions, "Reconciling")
if isTrue(reconciling) then
  hs.status = "Progressing"
  hs.message = describe(reconciling, "Reconciling")
  return hs
end

local blocked = condition(conditions, "DeletionBlocked")
if isTrue(blocked) then
  hs.status = "Degraded"
  hs.message = "Deletion blocked: " .. describe(blocked, "DeletionBlocked")
  return hs
end

local stalled = condition(conditions, "Stalled")
if isTrue(stalled) then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
  return hs
end

local ready = condition(conditions, "Ready")
if isTrue(ready) then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for the Ready condition")
return hs
