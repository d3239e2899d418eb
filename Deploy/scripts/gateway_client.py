"""One HTTP call to the platform, for the scripts beside this file (standard library only)."""
import json
import time
import urllib.error
import urllib.request


def call(base, method, path, body=None, token=None, content_type="application/json", accept=None, headers=None, timeout=30):
    """Sends a request; returns (status, content type, body text, seconds). A dict or list body
    is sent as JSON, a string as it is."""
    data = None if body is None else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    if accept:
        request.add_header("Accept", accept)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        answer = error.code, error.headers.get("Content-Type", ""), error.read().decode()
    return answer + (time.perf_counter() - started,)
