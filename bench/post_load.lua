-- wrk script for bench/write_path.py: each thread POSTs to the paths of a file in turn (from its
-- own offset) with the bearer header and no body; done() prints one JSON line.
-- usage: wrk ... -s post_load.lua http://127.0.0.1:PORT -- PATHS_FILE "Bearer sk-..."
local paths, auth, i = {}, nil, 0
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  auth = args[2]
  i = ((tid or 0) * 7919) % #paths
end

function request()
  i = i % #paths + 1
  return wrk.format("POST", paths[i], { Authorization = auth, ["Content-Length"] = "0" })
end

function done(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
