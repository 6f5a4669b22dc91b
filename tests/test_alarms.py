"""Alarm rules, raised once, recorded, open until acknowledged across a restart (real SQLite)."""

import pytest

from engine import alarms
from engine.alarms import AlarmLimits, AlarmMonitor
from engine.recorder import open_store


@pytest.fixture()
def out(tmp_path):
    return tmp_path / "out"


def test_consecutive_ng_raises_once_and_stays_open_until_acknowledged(out):
    with open_store(out) as store:
        monitor = AlarmMonitor(store, AlarmLimits(consecutive_ng=3, ng_rate=0))
        assert [monitor.part(v) for v in ("NG", "NG", "OK", "NG", "NG")] == [[]] * 5
        (alarm,) = monitor.part("NG")  # the third NG in a row
        assert alarm.kind == alarms.CONSECUTIVE_NG and alarm.open
        assert "3 NG parts in a row" in alarm.message
        assert [monitor.part("NG") for _ in range(5)] == [[]] * 5  # still open: not again
    with open_store(out) as store:  # a restart keeps it on the screen
        assert alarms.open_alarms(store) == [alarm]
        done = alarms.acknowledge(store, alarm.id, "operator")
        assert done.acknowledged is not None and done.acknowledged_by == "operator"
        assert alarms.open_alarms(store) == []
        assert alarms.alarm_log(store) == [done]  # recorded, with who and when
        with pytest.raises(alarms.AlarmError, match="already"):
            alarms.acknowledge(store, alarm.id, "operator")
        with pytest.raises(alarms.AlarmError, match="not in"):
            alarms.acknowledge(store, 999, "operator")
        monitor = AlarmMonitor(store, AlarmLimits(consecutive_ng=3, ng_rate=0))
        assert monitor.part("NG") == monitor.part("NG") == []
        assert len(monitor.part("NG")) == 1  # after the acknowledgement it can come again


def test_ng_rate_over_the_last_parts(out):
    with open_store(out) as store:
        monitor = AlarmMonitor(store, AlarmLimits(consecutive_ng=0, ng_rate=0.25, ng_rate_window=8))
        raised = [monitor.part(v) for v in ["OK", "NG", "OK", "OK", "NG", "OK", "OK", "OK"]]
        assert raised == [[]] * 8  # 2 / 8 = 25 %: not above the limit
        raised = [a for v in ["NG", "OK", "OK"] for a in monitor.part(v)]
        (alarm,) = raised  # the window's last 8 parts hold 3 NG: 38 %
        assert alarm.kind == alarms.NG_RATE and "38 %" in alarm.message
        assert "limit 25 %" in alarm.message
        assert monitor.part("NG") == []  # counting afresh after raising


def test_uninspected_frames_raise_once_per_run(out):
    with open_store(out) as store:
        monitor = AlarmMonitor(store, AlarmLimits(uninspected=10))
        assert monitor.dropped(4) == [] and monitor.dropped(9) == []
        (alarm,) = monitor.dropped(12)
        assert alarm.kind == alarms.UNINSPECTED and "12 live frames" in alarm.message
        alarms.acknowledge(store, alarm.id, "operator")
        assert monitor.dropped(30) == []  # this run passed the limit already
        assert monitor.dropped(2) == []  # a new run
        assert len(monitor.dropped(11)) == 1


def test_a_link_going_down_raises_its_alarm(out):
    with open_store(out) as store:
        monitor = AlarmMonitor(store)
        assert monitor.links({"PLC": True, "MQTT": True}) == []
        (alarm,) = monitor.links({"PLC": True, "MQTT": False})
        assert (alarm.kind, alarm.subject) == (alarms.LINK_DOWN, "MQTT")
        assert monitor.links({"PLC": True, "MQTT": False}) == []  # still down: one alarm
        assert [a.subject for a in monitor.links({"PLC": False, "MQTT": False})] == ["PLC"]
        assert {a.subject for a in alarms.open_alarms(store)} == {"MQTT", "PLC"}
        off = AlarmMonitor(store, AlarmLimits(link_down=False))
        assert off.links({"OPC UA": False}) == []
