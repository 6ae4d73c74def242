#!/usr/bin/env python3
"""The seed's Home Assistant component (custom_components/grill_monitoring),
its access pattern and parsing replayed without Home Assistant, with both
of its URLs (device service and temperature service) set to grilld's API:
the coordinator's connection test (GET /health must be 200 on each), its
update (GET /api/devices -> "devices", each "id"; per device
GET /api/temperature/current/{id} -> "data" and
GET /api/devices/{id}/health -> "health"), and the sensor platform's
setup, which names sensors from the device's "name", iterates
temperature_data["probes"].items() when "probes" is there (temperature,
unit, timestamp, name), and adds battery and signal sensors when health
has battery_level and signal_strength.

    ha_component.py BASE_URL DEVICE_ID

Prints one line per sensor the component would create for DEVICE_ID
("sensor NAME VALUE"), and exits 1 with the error the component would
raise."""
import json
import sys
import urllib.request

base, device = sys.argv[1].rstrip("/"), sys.argv[2]


def get(path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return r.status, json.loads(r.read().decode())


# async_test_connection: the temperature service's /health is 200.
status, _ = get("/health")
if status != 200:
    sys.exit(f"Temperature service not reachable: {status}")

# _fetch_devices: data.get("devices", []) of a 200, each device's "id".
status, answer = get("/api/devices")
devices = answer.get("devices", []) if status == 200 else []
device_info = next((d for d in devices if d.get("id") == device), None)
if device_info is None:
    sys.exit(f"no device {device} in /api/devices' devices: no sensors")
dname = device_info.get("name", f"Device {device}")

# _fetch_current_temperature: data.get("data") of a 200.
status, answer = get(f"/api/temperature/current/{device}")
temperature_data = answer.get("data") if status == 200 else None

# _fetch_device_health: data.get("health") of a 200.
status, answer = get(f"/api/devices/{device}/health")
health_data = answer.get("health") if status == 200 else None

# async_setup_entry: the device sensor, then one per probe.
sensors = [(dname, None)]
try:
    if isinstance(temperature_data, dict) and "probes" in temperature_data:
        for probe_id, probe_data in temperature_data["probes"].items():
            probe_name = probe_data.get("name", f"Probe {probe_id}")
            sensors.append((f"{dname} {probe_name}", probe_id))
except AttributeError as e:      # what setup raised on an array
    sys.exit(f"setup failed: AttributeError: {e}")


# get_temperature_data + native_value, for each sensor.
def value(probe_id):
    if probe_id and isinstance(temperature_data, dict):
        probe = temperature_data.get("probes", {}).get(probe_id)
        if probe:
            return probe.get("temperature")
    return temperature_data.get("temperature") if temperature_data else None


for name, probe_id in sensors:
    v = value(probe_id)
    if not isinstance(v, (int, float)):
        sys.exit(f"sensor {name}: no value ({v!r})")
    print(f"sensor {name} {v}")
if health_data and "battery_level" in health_data:
    print(f"sensor {dname} Battery {health_data['battery_level']}")
if health_data and "signal_strength" in health_data:
    print(f"sensor {dname} Signal {health_data['signal_strength']}")
