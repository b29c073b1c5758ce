-- wrk script: POST a JSON body (the pydantic echo endpoint of bench_py.py).
wrk.method = "POST"
wrk.body = '{"name":"widget","price":9.99,"tags":["a","b"]}'
wrk.headers["Content-Type"] = "application/json"
