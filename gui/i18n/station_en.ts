<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name>AlarmPanel</name>
    <message>
        <source>Acknowledge</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Acknowledge this alarm (recorded with your name and the time)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AlarmSettingsTab</name>
    <message>
        <source>off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Alarm when a line link goes down</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Times of day each shift begins, e.g. 06:00, 14:00, 22:00</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>NG parts in a row</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>NG rate above</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>… over the last parts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Uninspected live frames per run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shift start times</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An alarm shows on the operator screen until acknowledged; each one and its acknowledgement are recorded in the results store. 0 switches a rule off.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shift start times: {error}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>AuditView</name>
    <message>
        <source>Time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>User</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Kind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Old value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Audit trail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>all changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{count} change(s) shown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export the audit trail as CSV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export to {path} failed: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Audit trail exported to {path}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BatchPanel</name>
    <message>
        <source>No folder run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export JSON…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Watching {name} for new images</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Folder run: {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> ({skipped} inspected before, passed over)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{title}: {done} inspected</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CameraDialog</name>
    <message>
        <source>Camera</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the .cti of the camera&apos;s SDK (empty: those on {variable})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GenTL producer:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Industrial cameras found (pylon, GenICam):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Camera: pylon:SERIAL, genicam:SERIAL@producer.cti, index (0, 1, …) or URL:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Searching for cameras…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>serial {serial}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{count} camera(s) found.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No industrial camera found.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ComparisonDialog</name>
    <message>
        <source>New model bundle in service: {bundle}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keep</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Roll back to {bundle}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Roll back</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This recipe has no previous bundle</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CounterPanel</name>
    <message>
        <source>TOTAL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>YIELD</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset counters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set total, OK and NG back to zero (asks first)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{count} error(s) logged</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{period}: {parts} parts, {ng} NG, {rate}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set the counters ({parts} parts) back to zero?
The inspection records stay in the results store.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ErrorPanel</name>
    <message>
        <source>Dismiss this message</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>FirstStartDialog</name>
    <message>
        <source>First start: the administrator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This station has no administrator yet. The administrator manages the users (operators, engineers). Choose the account now; a forgotten password can be reset only from a shell on this machine (station users reset-password NAME).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Administrator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Repeat</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>HistoryPanel</name>
    <message>
        <source>no image
archived</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>NG gallery</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ImageView</name>
    <message>
        <source>Choose a source in the File menu, or drop a folder, video or image here</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>LinePanel</name>
    <message>
        <source>PLC (Modbus)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OPC UA</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MQTT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trigger</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Source</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Last trigger</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Last ack</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no part yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not started</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>free run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{origin}: {verdict}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>missed ({count}): {reason}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <source>Log in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>User</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wrong user name or password.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{user} may not do this: it needs {level}.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Mask fill</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Contours</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Heat map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>None</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Inspection Station</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>START</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>part id (optional)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sent with the next trigger and stored with its result</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open &amp;image…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open &amp;folder…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open &amp;video…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open &amp;camera…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export results as &amp;CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export results as &amp;JSON…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Start / stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Single &amp;step</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Trigger one part</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Pause / resume folder run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Watch folders for new images</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>S&amp;kip images already inspected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Play videos as a live &amp;camera</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Fit image to window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>F&amp;ull screen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Operator mode</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Leave operator mode / full screen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Engineer settings…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Keyboard shortcuts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Station</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> Overlay </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> Opacity </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No model bundle set: Settings › Engineer settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>loading {name}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No model loaded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no source chosen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Source — {source}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot start: no model bundle is loaded (see Engineer settings)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot start: choose a source first (File menu or drop it here)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trigger ignored: press Start first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trigger missed: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Last run stopped: {n} frame(s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Last run done: {n} frame(s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>STOP</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{what}
cannot be inspected: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>recorded result: no image of it was archived</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export results as {kind}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Results exported to {path}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MaskEditor</name>
    <message>
        <source>Brush</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Eraser</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Brush diameter in image pixels ([ smaller, ] larger)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Undo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>From U-Net</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>From heat map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clear</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{size} px</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ModelTable</name>
    <message>
        <source>U-Net</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>anomaly score</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>near miss</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>info only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WHAT-IF with the current thresholds (not the recorded verdict)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>recorded {clock}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{count} region(s), largest {px} px</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no region</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>U-Net segmentation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>score {score}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>, {count} region(s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Anomaly model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Global PCA + K-means</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rejected by</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>U-Net: defect {px} px</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>anomaly {score}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What-if: judge this part with the current thresholds</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shows how today&apos;s thresholds would judge the replayed part; the recorded verdict stays in the store and comes back on the next click in the history</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Result</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Limit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Verdict</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>OverlayLegend</name>
    <message>
        <source>filled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>outline</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>U-Net defect ({fill})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>anomaly region</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>heat low → high, | map threshold</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>heat low</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>high   | map threshold</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RecipeEditor</name>
    <message>
        <source>Id</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bundle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Default</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Operators</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>all parts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>NG parts only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Overlay mode</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Overlay images for</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Archive originals of</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image score threshold</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pixel threshold</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Minimum defect area</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Duplicate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Letters, digits, _ or -; fixed once the recipe is saved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>override</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> px</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the station starts with this recipe</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>operators may switch to this recipe</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unchecked: only an engineer may select it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Selected recipe</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model bundle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unchecked: the bundle&apos;s own calibrated value</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Default recipe</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What station-train compare --record wrote into the bundle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Comparison</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Relative bundle paths are relative to the recipe file&apos;s folder. Saving rewrites the file: comments written by hand are not kept.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reload</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Read the file again, dropping unsaved changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>● modified (not saved)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>yes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>may select</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model bundle folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No recipe file yet at {path}: New adds a recipe, Save creates it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{error}
Fix the file by hand, then Reload.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{count} recipe(s) in {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path}: cannot write ({error})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved {count} recipe(s) to {path}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReviewActions</name>
    <message>
        <source>&amp;Flag part for review</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Review queue…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>E&amp;xport reviewed parts…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Roll &amp;back the recipe&apos;s bundle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Queue the part on screen for an engineer&apos;s review</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The decided parts as an MVTec AD dataset (added to a folder)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Back to the bundle the recipe used before its last change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Re&amp;view</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No results store is open: no review queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Review queue not available: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing to flag: no part on screen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Part not flagged for review: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Part #{part} flagged for review ({pending} pending)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not allowed: reviewing needs an {needed} login (now: {level})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No results store is open; nothing to export</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export reviewed parts: dataset folder (MVTec AD layout)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An export is already running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exporting reviewed parts to {folder}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reviewed parts not exported: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not exported: {failure}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{file}: its decision changed after it was exported; the dataset keeps the earlier one</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exported {n} part(s) to {folder}: {good} good</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>, defective: {types}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>; {n} exported before</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This recipe has no previous bundle to go back to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{file}: roll back not saved ({error})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recipe {recipe} rolled back to {bundle}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReviewScreen</name>
    <message>
        <source>models disagree</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>score near its threshold</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>flagged by an operator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>audit sample</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pending</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Decided</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Review queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Refresh  (F5)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Read the queue again: new parts come in, decided ones leave</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What the station saw</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>U-Net mask</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Anomaly heat map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>✔ Good  (G)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>✖ Defective  (D)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1–9 pick a type; type a new name for a new one</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>defect type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no outline (save an empty mask)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>For a defect that cannot be painted, e.g. a missing part</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save and next  (Enter)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Decision</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Defect type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>History of this part</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>G good · D defective · 1–9 type · Enter save · N / P next / previous · B brush · E eraser · [ ] size · Ctrl+Z undo · U / H start from U-Net / heat map</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Review queue not readable: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{listed} listed, {pending} pending</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The review queue is empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Part #{part} (review item {item}), queued {when}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Why queued: {reasons}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pending: G good, D defective</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>history not readable: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no decision yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>good</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>defective / {type}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Decided {what} by {reviewer}, {when}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Station: {verdict}   U-Net: {unet}   Anomaly: {anomaly}
Anomaly score {score} / threshold {threshold}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no U-Net</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no anomaly model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>operator (not logged in)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>flagged by {who}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>· pending</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>✔ good</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter saves</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paint the defect, pick a type, Enter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose first: G good, D defective</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved part #{part}: {what}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>NG images only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>all images</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>nothing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PLC (Modbus TCP) listens on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OPC UA server listens on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MQTT broker</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Engineer settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Thresholds</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model and output</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recipes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Line links</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Alarms and shifts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model info</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> px</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Anomaly score at or above which the part is NG</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Defect probability at or above which a pixel is defective</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Smaller defect regions are ignored (pixels of the original image)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Image score threshold</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pixel threshold</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Minimum defect area</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restore the bundle&apos;s thresholds</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The verdict of the image on screen follows these values as you change them.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Folder…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Zip…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model bundle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only those this onnxruntime can run. auto: the fastest of them (CUDA, DirectML, CoreML, then CPU)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Execution provider</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Output folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Archive</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>In software-trigger mode this key triggers a part, as Space does: press the foot pedal (or the key it types) here</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Foot pedal key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the system&apos;s ({language})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The window&apos;s language, from the next start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Language (next start)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model bundle folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bundles (*.zip)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Empty: no recipes, the model bundle of the previous tab is used. Saving recipes here uses the file shown (the grey suggestion when empty).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>File…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recipe file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recipes (*.toml)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>off; e.g. {example}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unchanged</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>choose one</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OPC UA user</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>OPC UA password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>mqtts://: CA file (PEM); else system CAs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MQTT CA file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MQTT client certificate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>mqtts://: certificate (PEM), if the broker asks for one</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MQTT client key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>mqtts://: its private key (PEM)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Applied on OK. Triggers from the line are taken while a run in software-trigger mode is on. The OPC UA password is kept only as a salted hash; the server makes its certificate on first start (docs/opcua.md).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No model bundle is loaded.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ShortcutsDialog</name>
    <message>
        <source>Keyboard shortcuts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Action</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Key</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StationStatusBar</name>
    <message>
        <source>state of the station (OPC UA for Machine Vision, OPC 40100-1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>onnxruntime execution provider the models really run on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>time from frame to result on screen, last frame</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>results per second over the last {n} s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>live frames not inspected because a newer frame arrived first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>triggers that came while the station was busy or not ready</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>model bundle in use</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>line links: PLC over Modbus TCP, MQTT (engineer settings)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>latency –</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>FPS –</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>provider {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>precision {label}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>bundle {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>dropped {count}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>missed {count}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>latency {ms} ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>FPS {fps}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StatisticsDock</name>
    <message>
        <source>Statistics</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StatisticsView</name>
    <message>
        <source>running total</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>lot name (order or batch number)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start lot</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>End lot</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no lot open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Lot</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>parts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>yield</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>errors</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>min ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>mean ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>p95 ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>max ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>parts / min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Yield trend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>NG by reason</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>NG parts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Counters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Processing time per part and rate</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no results store is open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>lot {name} open since {since}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Yield trend, {period}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>NG by reason, {period}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TriggerPanel</name>
    <message>
        <source>Recipe (product): switching loads its model first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Free run, or one part per trigger</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Free run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Software trigger</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>TRIGGER</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Leave operator mode</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Back to the engineer&apos;s view (also Esc)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recipe</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>missed triggers: {count}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none loaded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>keys: {keys}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>UsersDialog</name>
    <message>
        <source>Users</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>User</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Level</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unchanged</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add user</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Apply to selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove selected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Repeat</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> min</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>never</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Without input for this long, whoever is logged in is logged out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Idle log-out after</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Added {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Changed {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Removed {name}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>VerdictBanner</name>
    <message>
        <source>anomaly score {score} {relation} threshold {limit}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>largest defect {px} px (counted from {minimum} px)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>; near miss {px} px</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>READY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>waiting for the first part</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cannot inspect {what}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no defect found</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>WindowAccess</name>
    <message>
        <source>Users not loaded: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Log in…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log &amp;out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Users…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Audit trail…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Users</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Inspection Station — {user}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quit during a run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A run is going on. Stop it and quit the station?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} logged out after {minutes:g} min without input</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>_Pager</name>
    <message>
        <source>◀ Newer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Older ▶</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>page {page} / {pages} · {total} parts</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>engine_text</name>
    <message>
        <source>{limit} NG parts in a row</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>NG rate {rate} % over the last {window} parts (limit {limit} %)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{count} live frames not inspected in this run: the station cannot keep up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>line link {name} is down</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>lot {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>shift {span}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>last hour</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>anomaly score</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>U-Net + anomaly</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not recorded</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>permissions</name>
    <message>
        <source>start and stop a run</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>trigger a part</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>select a recipe open to operators</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>select any recipe</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>reset the counters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>change the source</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>change thresholds, model, provider and line settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>create, edit and delete recipes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>quit during a run without confirming</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>view and export the audit trail</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>manage users</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>operator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>engineer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>administrator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not allowed: to {action} log in as {needed} (now: {level})</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>review_comparison</name>
    <message>
        <source>recall (defective parts rejected)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>false-reject rate (good parts rejected)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>U-Net Dice, mean over types</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>image AUROC</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>pixel AUROC, U-Net</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>pixel AUROC, anomaly heat</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>recall</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>false rejects</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>against {champion}: {figures} ({n} images)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} images ({defective} defective, {good} good) neither bundle trained on; verdicts differ on {differ}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Challenger &lt;b&gt;{challenger}&lt;/b&gt; against champion &lt;b&gt;{champion}&lt;/b&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>figure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>champion</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>challenger</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>data: {data}, {time}&lt;br&gt;report: {report}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>session</name>
    <message>
        <source>not logged in (operator)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>source_picker</name>
    <message>
        <source>folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>video</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>camera {spec}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{kind} file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Images</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Inspect an image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Inspect a folder of images</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Videos</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Inspect a video</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>verdict</name>
    <message>
        <source>OK</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>NG</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>ERROR</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
