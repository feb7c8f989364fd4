-- darter's Lua sandbox, modelled on Redis 7.0's scriptingInit / luaSetGlobalProtections.
-- Runs once per VM with the real globals table. Afterwards the globals table and every library table
-- are empty read-only proxies over hidden backing tables (Redis patches its Lua with read-only tables;
-- stock Lua 5.1 has none, so the raw-access functions are redirected to the backing tables here).
-- `functions` is true for a function VM (FUNCTION LOAD / FCALL): no `__redis__err__handler` global,
-- and `load_redis` is the `redis` table libraries see while they load.
local unwrap, killed, functions, load_redis = ...
local G = _G
local rawset, rawget, next, type, error, tostring = rawset, rawget, next, type, error, tostring
local setmetatable, getmetatable, ipairs, select, xpcall = setmetatable, getmetatable, ipairs, select, xpcall
local dbg = debug

-- The globals Redis 7.0 leaves visible, besides KEYS and ARGV set per run.
local allowed = {
  _G = true, _VERSION = true, assert = true, collectgarbage = true, coroutine = true, error = true,
  gcinfo = true, getmetatable = true, ipairs = true, load = true, loadstring = true, math = true,
  next = true, pairs = true, pcall = true, rawequal = true, rawget = true, rawset = true, select = true,
  setmetatable = true, string = true, table = true, tonumber = true, tostring = true, type = true,
  unpack = true, xpcall = true, redis = true, bit = true, cjson = true, cmsgpack = true, struct = true,
}

local B = {}
for k, v in next, G do
  if allowed[k] then B[k] = v end
end
local keys = {}
for k in next, G do keys[#keys + 1] = k end
for _, k in ipairs(keys) do rawset(G, k, nil) end

local backing = setmetatable({}, { __mode = 'k' })
local READONLY = 'Attempt to modify a readonly table'
local function ro_newindex() error(READONLY, 2) end
local function protect(t)
  local p = {}
  backing[p] = t
  setmetatable(p, { __index = t, __newindex = ro_newindex })
  return p
end

-- The error handler Redis installs: a table with err, source and line. Frames of this file are
-- skipped so errors raised by darter's Lua wrappers point at the script like Redis's C functions do.
local function handler(err)
  local level = 2
  local i = dbg.getinfo(level, 'nSl')
  if i and i.what == 'C' then
    level = 3
    i = dbg.getinfo(level, 'nSl')
  end
  if i and i.source == '=darter' then
    while i and (i.source == '=darter' or i.source == '=(tail call)') do
      level = level + 1
      i = dbg.getinfo(level, 'nSl')
    end
  end
  if type(err) == 'userdata' then err = unwrap(err) end
  if type(err) ~= 'table' then
    err = { err = 'ERR ' .. tostring(err) }
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end

-- Errors raised by darter's Rust functions arrive as userdata; show scripts Redis's values.
local pcall, unpack = B.pcall, B.unpack
local function fix(ok, ...)
  if ok then return ok, ... end
  local n = select('#', ...)
  local r = { ... }
  if type(r[1]) == 'userdata' then r[1] = unwrap(r[1]) end
  -- A killed script cannot catch its kill (Redis re-arms its hook on every line for this).
  if killed() then error(r[1], 0) end
  -- Redis 7.0's luaRedisPcall: an error table's err field replaces the table.
  if type(r[1]) == 'table' then
    local m = r[1].err
    if type(m) == 'string' or type(m) == 'number' then r[1] = m end
  end
  return ok, unpack(r, 1, n)
end
B.pcall = function(...) return fix(pcall(...)) end
B.xpcall = function(f, h)
  return xpcall(f, function(e)
    if type(e) == 'userdata' then e = unwrap(e) end
    return h(e)
  end)
end

if not functions then B.__redis__err__handler = handler end

-- Raw access redirected to the backing tables, refused for writes (as Redis's read-only tables).
local function real(t)
  if t == G then return B end
  return backing[t] or t
end
local function is_ro(t) return t == G or backing[t] ~= nil end
B.rawset = function(t, k, v)
  if is_ro(t) then error(READONLY, 0) end
  return rawset(t, k, v)
end
B.setmetatable = function(t, m)
  if is_ro(t) then error(READONLY, 0) end
  return setmetatable(t, m)
end
B.rawget = function(t, k) return rawget(real(t), k) end
local function rnext(t, k) return next(real(t), k) end
B.next = rnext
B.pairs = function(...)
  local t = ...
  if type(t) ~= 'table' then
    local got = select('#', ...) == 0 and 'no value' or type(t)
    error("bad argument #1 to 'pairs' (table expected, got " .. got .. ")", 0)
  end
  return rnext, t, nil
end
local base_ipairs = ipairs
B.ipairs = function(t) return base_ipairs(real(t)) end

for _, name in ipairs({ 'string', 'table', 'math', 'coroutine', 'redis', 'bit', 'cjson', 'cmsgpack', 'struct' }) do
  if B[name] then B[name] = protect(B[name]) end
end
getmetatable('').__index = B.string
B._G = G

-- What the globals resolve to: B normally, the load API (only `redis`) while a library loads.
local env = B
local NOGLOBAL = "Script attempted to access nonexistent global variable '"
setmetatable(G, {
  __index = function(_, k)
    local v = env[k]
    if v == nil then
      error(NOGLOBAL .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = ro_newindex,
})

-- Runs a compiled script under the handler; KEYS and ARGV go into the backing table.
local function run_script(f, keys, argv)
  B.KEYS = keys
  B.ARGV = argv
  return xpcall(f, handler)
end

if not functions then return run_script end

-- Redis 7.0's load-time globals (function_lua.c, LIBRARY_API): `redis` with register_function, log,
-- the LOG_* levels and the version; reading anything else raises the nonexistent-global error.
local L = {}
do
  local lr = {}
  setmetatable(lr, {
    __index = function(_, k)
      local v = load_redis[k]
      if v == nil then error(NOGLOBAL .. tostring(k) .. "'", 2) end
      return v
    end,
    __newindex = ro_newindex,
  })
  backing[lr] = load_redis
  L.redis = lr
end

-- A callback that is a C function (`redis.register_function('f', redis.log)`) has no Lua frame
-- for the error to point at: Redis's reply then has no ` script: ...` suffix.
local function handler_no_frame(err)
  if type(err) == 'userdata' then err = unwrap(err) end
  if type(err) ~= 'table' then err = { err = 'ERR ' .. tostring(err) } end
  return err
end

-- FCALL: the callback gets KEYS and ARGV as its two arguments.
local function run_function(f, keys, argv)
  local h = handler
  if dbg.getinfo(f, 'S').what == 'C' then h = handler_no_frame end
  return xpcall(function() return f(keys, argv) end, h)
end

-- FUNCTION LOAD: runs a library body once with the load-time globals and no error handler (Redis
-- calls lua_pcall without one); returns ok and the error value as Redis would see it.
local function load_library(f)
  env = L
  local ok, err = pcall(f)
  env = B
  if not ok and type(err) == 'userdata' then err = unwrap(err) end
  return ok, err
end

return run_script, run_function, load_library
