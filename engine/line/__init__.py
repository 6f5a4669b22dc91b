"""Line adapters: the station core's links to the production line (PLC over Modbus TCP, an OPC UA
Machine Vision server, MQTT). Each is an optional extra of the package, a result sink and a
trigger source on `engine.station.Station`, and never in the per-part hot path beyond handing
over a finished result."""
