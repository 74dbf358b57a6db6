-- Mandelbrot set on a 1000x1000 grid over [-2,1]x[-1.5,1.5], at most 50 iterations:
-- float arithmetic. Prints the number of points that never escape.
local function mandelbrot(size, max_iter)
  local inside = 0
  local fsize = size + 0.0
  local y = 0
  while y < size do
    local ci = (y + 0.0) * 3.0 / fsize - 1.5
    local x = 0
    while x < size do
      local cr = (x + 0.0) * 3.0 / fsize - 2.0
      local zr, zi = 0.0, 0.0
      local k = 0
      while k < max_iter and zr * zr + zi * zi <= 4.0 do
        local t = zr * zr - zi * zi + cr
        zi = 2.0 * zr * zi + ci
        zr = t
        k = k + 1
      end
      if k == max_iter then inside = inside + 1 end
      x = x + 1
    end
    y = y + 1
  end
  return inside
end

print(string.format("%d", mandelbrot(1000, 50)))
