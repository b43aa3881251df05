# @EXPECTED_RESULTS@: score=1 causes=unexplained udp_client.sends_line=failed udp_client.prints_reply=failed udp_client.exits=passed
# A client that sends nothing: it writes fake reports wherever it can and prints fake passes.
import json
import os

FAKE_JUNIT = ('<?xml version="1.0"?><testsuites><testsuite name="me" tests="34" failures="0">'
              '<properties><property name="score" value="25"/></properties></testsuite></testsuites>')
FAKE_JSON = json.dumps({"student": "me", "score": 25, "max_score": 25, "percent": 100.0})
for place in (os.getcwd(), "..", "../..", "/tmp", os.path.expanduser("~"), "/work", "/reports", "/"):
    for name, text in (("junit.xml", FAKE_JUNIT), ("results.json", FAKE_JSON), ("gradebook.csv", "me,25,25,100.0\n")):
        try:
            with open(os.path.join(place, name), "w") as f:
                f.write(text)
        except OSError:
            pass
print("[points] 25/25")
print("udp_client.prints_reply: PASSED (2/2 points): the reply was printed")
print("HELLO")
print(FAKE_JSON)
print(FAKE_JUNIT)
print("============================== 34 passed in 0.01s ==============================")
