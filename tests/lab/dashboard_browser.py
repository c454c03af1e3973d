#!/usr/bin/env python3
"""The dashboard seen by a real browser (headless Chromium driven by Selenium) and by
plain HTTP requests, while a batch runs on three lab nodes.

  dashboard_browser.py URL GATE SCREENSHOT JOBS

URL is what ppclient printed (http://ADDRESS:PORT/?token=...). Checks, in order: every
request without the token (or with a wrong one) is refused with 403; /api/status with it
is JSON naming the three nodes; the page shows the three nodes; then GATE is created (the
batch starts) and the page shows progress advancing, a screenshot is taken mid-batch,
the task stream's lanes (one per worker) with bars of running jobs and the nodes
table's jobs/s per worker appear mid-batch, the failed job's traceback and node appear, a
group's bar and a pipeline stage's bar each seen part-way and then full, /api/stream answers
each run once (since=SEQ) and refuses a bad SEQ, and at the end the final state
("finished") with every job counted, the groups and the pipeline's stages. Prints
"dashboard browser: all ok" when all hold.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

URL, GATE, SHOT, JOBS = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
# dashboard_driver.lua's pipeline: 60 items, the first stage drops every 10th, two stages.
ITEMS, KEPT = 60, 54
TOTAL = JOBS + 2 * ITEMS
BASE = URL.split("?")[0]
TOKEN = urllib.parse.parse_qs(urllib.parse.urlparse(URL).query).get("token", [""])[0]


browser = None


def fail(msg):
    print("FAIL: " + msg)
    if browser is not None:   # what the page showed, and what its console said
        try:
            print("page state: %r, footer: %r" % (browser.find_element(By.ID, "state").text,
                                                  browser.find_element(By.ID, "footer").text))
            for entry in browser.get_log("browser"):
                print("console: %s" % entry)
        except Exception as e:  # the browser itself may be what failed
            print("(the page could not be read: %s)" % e)
    sys.exit(1)


def http(path, headers=None):
    """(status, body) of GET BASE+path."""
    req = urllib.request.Request(BASE + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def status():
    code, body = http("api/status?token=" + TOKEN)
    if code != 200:
        fail("GET /api/status with the token: HTTP %d" % code)
    return json.loads(body)


def wait_for(what, pred, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    fail("timed out waiting for " + what)


# --- the token, from plain HTTP requests -------------------------------------------------
if not TOKEN:
    fail("the dashboard on a non-loopback address printed no token: " + URL)
for path, headers in [("", None), ("api/status", None), ("dashboard.js", None),
                      ("api/status?token=" + "0" * len(TOKEN), None),
                      ("api/status", {"Cookie": "pp_dashboard=wrong"})]:
    code, body = http(path, headers)
    if code != 403:
        fail("GET /%s without the right token answered %d, not 403" % (path, code))
    if "token" not in body:
        fail("the 403 does not say a token is needed: " + body)
code, body = http("api/status", {"Cookie": "pp_dashboard=" + TOKEN})
if code != 200:
    fail("the token in the cookie was refused: %d" % code)
s = wait_for("3 connected nodes in /api/status",
             lambda: (lambda s: s if sum(n["state"] in ("idle", "working") for n in s["nodes"]) >= 3
                      else None)(status()))
for key in ("jobs", "groups", "nodes", "tasks", "failures", "output", "batch", "final"):
    if key not in s:
        fail("/api/status has no " + key)
if s["final"]:
    fail("the batch is final before it started")
for n in s["nodes"]:
    if n["found"] != "broadcast" or n["workers"] != 2 or not n["host"].startswith("pt"):
        fail("unexpected node in /api/status: %s" % n)

# --- the page in a browser ---------------------------------------------------------------
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--window-size=1400,1500", "--hide-scrollbars"):
    opts.add_argument(a)
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
try:
    browser.set_page_load_timeout(30)
    browser.get(URL)
    rows = wait_for("three node rows on the page", lambda: (
        lambda r: r if len(r) == 3 else None)(browser.find_elements(By.CSS_SELECTOR, "#nodes tbody tr[data-node]")))
    names = sorted(r.get_attribute("data-node") for r in rows)
    print("page shows nodes: " + ", ".join(names))

    def finished():
        return int(browser.find_element(By.ID, "progress").get_attribute("data-finished") or 0)

    def row_value(selector, attr):
        """The attribute of the row, or None while the page has no such row. Read inside
        the page in one step: each poll replaces the rows, so a row found here could be
        gone by the time its attribute was asked for."""
        v = browser.execute_script(
            "const r = document.querySelector(arguments[0]);"
            "return r ? r.getAttribute(arguments[1]) : null;", selector, attr)
        return None if v is None else int(v or 0)

    GROUP = "#groups tbody tr[data-group='first half']"
    STAGE = "#stages tbody tr[data-stage='pipeline 1/2']"
    group_seen, stage_seen = set(), set()

    def watch_bars():
        """Notes what the first group's and the slow stage's rows show now."""
        g = row_value(GROUP, "data-finished")
        if g is not None:
            group_seen.add(g)
        st = row_value(STAGE, "data-through")
        if st is not None:
            stage_seen.add(st)

    open(GATE, "w").close()   # the batch starts
    first = wait_for("progress on the page", lambda: (lambda f: f if f > 0 else None)(finished()))
    shot = False
    later = first
    end = time.time() + 120
    running_seen = lanes_seen = 0
    rate_seen = None
    while time.time() < end and later < TOTAL:
        later = finished()
        watch_bars()
        # Mid-batch: a lane per worker (3 nodes x 2), bars of jobs running now, and the
        # nodes table's jobs/s per worker filled in (not "-" until the end). Read in one
        # script: the page redraws under a reader that looks element by element.
        seen = browser.execute_script("""
            const rows = [...document.querySelectorAll("#nodes tbody tr[data-node]")];
            const rated = rows.filter(r => Number(r.dataset.throughput) > 0 &&
                                           r.children[11].textContent !== "-");
            return [document.getElementById("state").textContent,
                    document.querySelectorAll("#stream svg g.lane").length,
                    document.querySelectorAll("#stream svg g.lane g.run.running").length,
                    rated.length ? [rated[0].dataset.node, rated[0].children[11].textContent] : null];
        """)
        if seen[0] == "running":
            lanes_seen = max(lanes_seen, seen[1])
            running_seen = max(running_seen, seen[2])
            if seen[3] and rate_seen is None:
                rate_seen = (seen[3][0], seen[3][1], later)
        if not shot and TOTAL * 0.25 <= later <= TOTAL * 0.75:
            time.sleep(0.3)
            browser.save_screenshot(SHOT)
            shot = True
            print("screenshot at %d of %d jobs: %s" % (later, TOTAL, SHOT))
        time.sleep(0.2)
    if later <= first:
        fail("the progress on the page did not advance (%d)" % first)
    print("progress advanced on the page: %d -> %d of %d" % (first, later, TOTAL))
    if not shot:
        fail("no moment mid-batch for the screenshot (the batch went too fast)")
    if lanes_seen < 6:
        fail("the task stream showed %d worker lanes mid-batch, not 6" % lanes_seen)
    if running_seen < 1:
        fail("the task stream showed no running job's bar mid-batch")
    if rate_seen is None:
        fail("the nodes table showed no jobs/s per worker mid-batch")
    print("mid-batch: %d worker lanes, up to %d running bars, node %s at %s jobs/s per worker "
          "(%d jobs done)" % (lanes_seen, running_seen, rate_seen[0], rate_seen[1], rate_seen[2]))
    wait_for("the page's last update", lambda: (watch_bars(), KEPT in stage_seen)[1], timeout=30)
    half = JOBS // 2
    print("group 'first half' seen at: %s" % sorted(group_seen))
    print("stage 2 of pipeline 1 seen at: %s" % sorted(stage_seen))
    if not any(0 < v < half for v in group_seen) or half not in group_seen:
        fail("the group's bar was not seen advancing to %d: %s" % (half, sorted(group_seen)))
    if not any(0 < v < KEPT for v in stage_seen) or KEPT not in stage_seen:
        fail("the stage's bar was not seen advancing to %d: %s" % (KEPT, sorted(stage_seen)))

    tb = wait_for("the failed job's traceback on the page", lambda: [
        f for f in browser.find_elements(By.CSS_SELECTOR, "#failures .failure[data-job='13']")
        if "fails on purpose" in f.text and "traceback" in f.text])[0]
    head = tb.find_element(By.CSS_SELECTOR, ".head").text
    if not any(n in head for n in names):
        fail("the failure does not name its node: " + head)
    print("failure shown: " + head)
    wait_for("the final state on the page",
             lambda: browser.find_element(By.ID, "state").text == "finished", timeout=60)
    if len(browser.find_elements(By.CSS_SELECTOR, "#stream svg g.run")) == 0:
        fail("the task stream has no runs")
    if "says hello" not in browser.find_element(By.ID, "output").text:
        fail("the page shows no job output")
finally:
    browser.quit()

# /api/stream: each run once, from the SEQ given on; a bad SEQ refused.
code, body = http("api/stream?since=0&token=" + TOKEN)
st = json.loads(body) if code == 200 else fail("GET /api/stream: HTTP %d" % code)
if not st["final"] or st["seq"] < TOTAL or st["from"] + len(st["ended"]) - 1 != st["seq"]:
    fail("/api/stream from 0: seq %s, from %s, %d runs" % (st["seq"], st["from"], len(st["ended"])))
if st["running"]:
    fail("/api/stream of a finished batch has running jobs: %s" % st["running"])
code, body = http("api/stream?since=%d&token=%s" % (st["seq"] - 5, TOKEN))
if code != 200 or len(json.loads(body)["ended"]) != 5:
    fail("/api/stream since the 5th last run: HTTP %d, %s" % (code, body[:200]))
code, body = http("api/stream?since=abc&token=" + TOKEN)
if code != 400 or "since" not in body:
    fail("/api/stream?since=abc answered %d: %s" % (code, body[:200]))
print("api/stream: %d runs, from %d; since=SEQ gives the rest; a bad SEQ is refused" %
      (len(st["ended"]), st["from"]))

s = status()
if not s["final"] or s["jobs"]["submitted"] != TOTAL or s["jobs"]["finished"] != TOTAL:
    fail("final /api/status does not count the batch: %s" % s["jobs"])
if s["jobs"]["failed"] != 1 or s["failures"][0]["job"] != 13 or "traceback" not in s["failures"][0]["traceback"]:
    fail("final /api/status does not show the failed job: %s" % s["failures"])
if sorted(g["name"] for g in s["groups"]) != ["first half", "second half"]:
    fail("groups: %s" % s["groups"])
if [g["finished"] for g in s["groups"]] != [JOBS // 2, JOBS // 2]:
    fail("groups' counts: %s" % s["groups"])
p = s["pipelines"][0] if len(s.get("pipelines", [])) == 1 else None
if (p is None or [st["name"] for st in p["stages"]] != ["keep most", "slow double"]
        or p["items"] != ITEMS or p["dropped"] != ITEMS - KEPT
        or p["stages"][0]["dropped"] != ITEMS - KEPT or p["stages"][1]["items_in"] != KEPT
        or p["stages"][1]["items_out"] != KEPT or p["stages"][1]["in_flight"] != 0):
    fail("final /api/status does not count the pipeline's stages: %s" % s.get("pipelines"))
if s["batch"]["bytes_sent"] <= 0 or s["batch"]["bytes_received"] <= 0:
    fail("final /api/status has no bytes through the driver: %s" % s["batch"])
if sum(n["jobs_done"] for n in s["nodes"]) < JOBS or sum(n["jobs_done"] > 0 for n in s["nodes"]) != 3:
    fail("not every node contributed: %s" % [(n["name"], n["jobs_done"]) for n in s["nodes"]])
print("dashboard browser: all ok")
