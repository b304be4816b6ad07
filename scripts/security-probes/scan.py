# scan.py P FILE...: counts P, base64(P), URL-encoded P, the AUTH PLAIN blobs and hex(P) in each file (bytes), for S3.
import sys, base64, urllib.parse
P = sys.argv[1]; U = 'robot'; b = P.encode()
forms = {'P': b, 'b64(P)': base64.b64encode(b), 'url(P)': urllib.parse.quote(P, safe='').encode(), 'url+(P)': urllib.parse.quote_plus(P).encode(),
         'AUTH PLAIN blob': base64.b64encode(b'\0' + U.encode() + b'\0' + b), 'AUTH PLAIN blob2': base64.b64encode(U.encode() + b'\0' + U.encode() + b'\0' + b),
         'hex(P)': b.hex().encode(), 'json-escaped(P)': P.encode('ascii', 'backslashreplace').replace(b'\\x', b'\\u00')}
total = 0
for path in sys.argv[2:]:
    data = open(path, 'rb').read()
    counts = {k: data.count(v) for k, v in forms.items()}; total += sum(counts.values())
    print(path, len(data), 'bytes:', counts)
print('TOTAL occurrences', total)
