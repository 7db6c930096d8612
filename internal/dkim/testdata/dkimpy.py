# Independent DKIM checks with Debian's python3-dkim (dkimpy), driven by
# python_test.go. Reads a JSON list of requests on stdin and writes a JSON
# list of answers, one per request:
#   {"op": "verify", "msg": M, "record": R}  -> "pass" or "fail" (R is the
#                                               answer to every key lookup)
#   {"op": "sign", "msg": M, "key": K, "domain": D, "selector": S,
#    "canon": C, "algo": A}                  -> the signed message
# K is a PEM private key, or for Ed25519 the base64 of the 32-byte seed.
import json
import sys

import dkim


def crlf(s):
    return s.encode().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


out = []
for req in json.load(sys.stdin):
    msg = crlf(req["msg"])
    if req["op"] == "verify":
        record = req["record"].encode()
        ok = dkim.verify(msg, dnsfunc=lambda name, timeout=5: record)
        out.append("pass" if ok else "fail")
    else:
        c = req["canon"].encode()
        sig = dkim.sign(msg, req["selector"].encode(), req["domain"].encode(),
                        req["key"].encode(), canonicalize=(c, c),
                        signature_algorithm=req["algo"].encode(),
                        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
        out.append((sig + msg).decode())
json.dump(out, sys.stdout)
