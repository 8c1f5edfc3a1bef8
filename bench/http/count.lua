-- wrk script for the HTTP benchmark. Run with one connection per thread (-t N -c N): each
-- thread is then one client with its own cookie jar of one cookie, sending GET /count one
-- request at a time. Every response is checked: status 200 and, for a counter variant
-- (argument "counter"), a body one more than the previous one (1, 2, 3, ...), else "ok".
-- Argument "reader": one GET /count makes the session (n = 1), then every request is a
-- GET /peek that reads it, and every answer must be "1" (a read that changes nothing).
-- done() prints one line "BENCH-JSON {...}" with the summary, the latency percentiles and,
-- per thread, requests sent and answered, bad answers, the last counter and the cookie.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  sent, got, bad, last, cookie, first_bad = 0, 0, 0, 0, "", ""
  counter = args[1] == "counter"
  reader = args[1] == "reader"
end

function request()
  sent = sent + 1
  if cookie ~= "" then
    return wrk.format("GET", reader and "/peek" or "/count", { ["Cookie"] = cookie })
  end
  return wrk.format("GET", "/count")
end

local function flag(why)
  bad = bad + 1
  if first_bad == "" then
    first_bad = why
  end
end

function response(status, headers, body)
  got = got + 1
  for name, value in pairs(headers) do
    if string.lower(name) == "set-cookie" then
      cookie = string.match(value, "^[^;]*")
    end
  end
  if status ~= 200 then
    flag("status " .. status)
    return
  end
  if reader then
    if body ~= "1" then
      flag("read " .. tostring(body) .. ", not 1")
    end
    last = tonumber(body) or last
  elseif counter then
    local n = tonumber(body)
    if n ~= last + 1 then
      flag("counter " .. tostring(body) .. " after " .. last)
    end
    if n then
      last = n
    end
  elseif body ~= "ok" then
    flag("body " .. tostring(body))
  end
end

local function quote(text)
  return '"' .. string.gsub(tostring(text), '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local parts = {}
  for _, thread in ipairs(threads) do
    table.insert(parts, string.format(
      '{"sent":%d,"got":%d,"bad":%d,"last":%d,"cookie":%s,"first_bad":%s}',
      thread:get("sent"), thread:get("got"), thread:get("bad"), thread:get("last"),
      quote(thread:get("cookie")), quote(thread:get("first_bad"))))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},' ..
    '"threads":[%s]}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, table.concat(parts, ",")))
end
