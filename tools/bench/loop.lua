-- 1e8-iteration integer loop with a data-dependent recurrence (cannot be folded).
-- All values stay below 2^53 so LuaJIT (doubles only) computes the same result.
local function loop(n)
  local x, s, i = 1, 0, 0
  while i < n do
    x = (x * 31 + i) % 1000003
    s = s + x
    i = i + 1
  end
  return s
end

print(string.format("%d", loop(100000000)))
