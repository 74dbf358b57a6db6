-- Sieve of Eratosthenes up to 1e7: arrays, nested loops, booleans.
local function count_primes(n)
  local composite = {}
  for k = 0, n do composite[k] = false end
  local count = 0
  local i = 2
  while i <= n do
    if not composite[i] then
      count = count + 1
      local j = i * i
      while j <= n do
        composite[j] = true
        j = j + i
      end
    end
    i = i + 1
  end
  return count
end

print(string.format("%d", count_primes(10000000)))
