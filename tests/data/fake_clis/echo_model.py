"""A stand-in local model for the `command` kind: prompt on stdin, answer on stdout.

`CRASH` in the prompt -> exit 3 with a message on stderr; `SLOW` -> sleep 30 s;
a JSON object on stdin (stdin: json) is answered with the fields it carried.
"""

import json
import sys
import time

data = sys.stdin.read()
if "CRASH" in data:
    sys.stderr.write("echo_model: segmentation fault (simulated)\n")
    sys.exit(3)
if "SLOW" in data:
    time.sleep(30)
try:
    obj = json.loads(data)
except ValueError:
    obj = None
if isinstance(obj, dict):
    print(f"json example={obj['example_id']} run={obj['run']} temperature={obj['temperature']}")
else:
    print("```rust\nfn main() {}\n```")
    print(f"// words={len(data.split())}")
