<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US">
<context>
    <name>BenchPage</name>
    <message>
        <source>Bench: every board at once</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Plug the boards in: each one appears below and a blank board starts by itself. Boards done here, provisioned elsewhere or of another model are left alone.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start new blank boards by themselves</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No board is plugged in yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Back</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>One board at a time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Print labels…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Labels for the selected boards, or for every done board if none is selected.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Scanned {code}: selected {port}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Scanned {code}: no board on the bench matches.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No board to label yet: select a card whose board has an SN, or wait until a board is done.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BindPage</name>
    <message>
        <source>Bind the board to the enterprise</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The enterprise&apos;s admin scans this code with WeCom on their phone.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>For the enterprise admin (超级管理员 / 设备管理员)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Workbench</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Manage the enterprise</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Smart hardware</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add a device</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Scan the code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>In the WeCom mobile app:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device online</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bound to an enterprise</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Companion app installed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing happens? Make sure the admin scans from 智慧硬件 → 添加设备 (not the ordinary scanner), that the phone is online, and that the board&apos;s network light is on. A code that is more than 30 minutes old is renewed here by itself.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Demo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open the emulator&apos;s scan page</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Simulate the admin&apos;s scan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot scan? Add the board by its SN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy SN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>In the WeCom mobile app: {path}, then type this SN.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copied</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting for {minutes}:{seconds:02d}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bound to {enterprise}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not checkable without a partner service.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BindingQueue</name>
    <message>
        <source>Binding queue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enterprise admin: in WeCom, scan each code in turn. The next one comes up by itself as soon as WeCom confirms the board.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Back</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Skip</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} of {total}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>HW_ID {hw_id} · SN {sn}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No board is waiting for the binding yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{bound} bound; {waiting} skipped, still waiting (Back shows them).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All {bound} boards are bound. The queue is empty.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BoardCard</name>
    <message>
        <source>Waiting for the board…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{model} · HW_ID {hw_id}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>In the binding queue.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bound to {corp} on {when}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN {sn} is bound to {corp}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Already done: left as it is.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not ours to provision: left alone.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Retry</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ready to start.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ConnectPage</name>
    <message>
        <source>Connect the board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Plug the board into this computer with a USB data cable. It appears below by itself.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Back</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Blink (identify)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The selected board blinks its LED and beeps for 5 seconds.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provision this board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Scanned {code}: selected {port}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bench view (every board)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Scanned {code}: no connected board matches.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select the board to provision, then press Provision.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No USB-serial board found yet. Check that:
• the cable carries data (some USB cables only charge);
• the USB-serial driver (CP210x, CH340/CH9102 or FTDI) is installed;
• on Linux, your user is in the dialout group (sudo usermod -aG dialout $USER, then log in again);
• the board is powered and its USB port is the console port.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Asking {port} to blink…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{port} is blinking and beeping for 5 seconds.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CrashDialog</name>
    <message>
        <source>Something went wrong</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The installer hit an unexpected error. The board&apos;s record is safe: every step is saved as it happens. You can continue, or quit and start again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The details are in the log file: {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The details below were written to the log.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Continue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quit</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DevicePage</name>
    <message>
        <source>The board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading the board…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Opening the port…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Port:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Firmware:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>HW_ID:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Factory reset…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Skip this board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Continue</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Asking the board who it is (HELLO)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board answered.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This board already holds a credential</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Continue resumes where it stopped; skip leaves it as it is.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Already provisioned: SN {sn}, state {state}, this computer&apos;s record: {stage}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A blank board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Continue to give it a credential and lock it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume this board?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It stopped at the stage &apos;{stage}&apos; with SN {sn}{bound}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume continues from that stage without taking a new credential.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This board is already done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN {sn} was bound to {corp} on {when}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check again asks WeCom whether it is still bound; nothing is written to the board. Skip leaves it as it is.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Factory reset the board {model} with HW_ID {hw_id} (SN {sn})?

It loses its credential and Wi-Fi settings. A board bound to an enterprise must also be removed there.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Factory reset</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DonePage</name>
    <message>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board is provisioned and bound.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Summary</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>HW_ID:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enterprise:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Companion app:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Finished:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Installer:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save installation report (PDF)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Next device</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>installed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not checkable (no partner service)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not installed yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save installation report</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PDF (*.pdf)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Installation report</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot write {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The report was not saved: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Binding QR code:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Writing the report…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Report saved to {path}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>HandoverDialog</name>
    <message>
        <source>Site handover</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>One PDF for the customer to sign (every device of the site, failed and skipped ones included), with the same rows as CSV and XLSX.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Team server (every installer)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This laptop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Records:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enterprise:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>From:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>To:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save package…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type the enterprise&apos;s corpid.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No board is bound to an enterprise yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the handover package in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved {pdf}, {csv} and {xlsx}.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>HistoryDialog</name>
    <message>
        <source>History</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search SN, HW_ID, enterprise or installer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Labels…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Labels for the selected boards (or all shown)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Site handover…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>HW_ID</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enterprise</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Installer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Last change</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Team server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>has it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>waiting to be sent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>refused</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n board(s)</source>
        <translation>
            <numerusform>%n board</numerusform>
            <numerusform>%n boards</numerusform>
        </translation>
    </message>
    <message>
        <source>Export history</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CSV (*.csv)</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Exported %n board(s) to {path}</source>
        <translation>
            <numerusform>Exported %n board to {path}</numerusform>
            <numerusform>Exported %n boards to {path}</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>LabelsDialog</name>
    <message>
        <source>Print labels</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Labels for the boards of {corp}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Labels for %n board(s).</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>This profile shows dynamic binding QR codes, which expire: labels carry the static code from registration instead, never a dynamic one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A4 sheet (PDF)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>One label per page, roll printer (PDF)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Zebra printer (ZPL)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Layout:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Columns × rows:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Margins:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gap between labels:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Label size:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>optional, e.g. \\server\zebra</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Also copy to printer share:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save labels</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>ZPL (*.zpl)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PDF (*.pdf)</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>Saved %n label(s) to {path}.</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
</context>
<context>
    <name>LocationBox</name>
    <message>
        <source>Location, e.g. 3F-301 front desk (type or scan)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save location</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Print label…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Location:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Location saved: {location}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Location cleared.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>LogPane</name>
    <message>
        <source>Log</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>WeCom device installer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Write</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Network</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bind</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Retry</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Back to the port list</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Opening the local record…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ready.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The new settings apply once the boards on the bench view are done.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Offline work</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How many credentials to take for a site without network?</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n unused credential(s) given back.</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>The local record is not open yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This board is running on the bench view.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN {sn} is done.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board was skipped; nothing was changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped. The board&apos;s record is kept.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This step failed: {message}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Retry resumes from where it stopped; nothing is taken twice.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No QR code to scan yet.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>NetworkPage</name>
    <message>
        <source>The board&apos;s network</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board reaches WeCom by itself over Wi-Fi.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wi-Fi</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>empty for an open network</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Network name (SSID):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Password:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keep the board&apos;s network</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Send to the board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Live state</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Network: not known yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom: not known yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A Wi-Fi password has 8 to 63 characters.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Network: {state}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom: {state}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PartnerGroup</name>
    <message>
        <source>Partner service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partner URL:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Installer token:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PortList</name>
    <message>
        <source>Serial ports</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(simulated board)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(likely the board)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ProviderGroup</name>
    <message>
        <source>WeCom provider</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Direct (device talks to WeCom)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cloud-to-cloud (through the partner service)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each device has its own SecretNo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shared seed SecretNo, exchanged by the device (static QR only)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Seed: the model ships one initial SecretNo that each device exchanges for its own on first connection. The app then never knows the device&apos;s own secret, so it can only show the static QR code.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mode:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom API URL:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provider corpid:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provider secret:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device model_id:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SecretNo:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ProvisioningGroup</name>
    <message>
        <source>Provisioning</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Register each board with WeCom</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Imported inventory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partner service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Static (printed once)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dynamic (renewed while shown)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>System language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Credential source:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN prefix:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>QR code:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Binding poll interval:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Language:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Installer name:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>QrView</name>
    <message>
        <source>Binding QR code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No QR code yet</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RecordsGroup</name>
    <message>
        <source>Records</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none: the key is kept in the credential store</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only for a computer without a credential store. The device secrets in the records are encrypted with this key: keep a copy of the file somewhere safe.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Key file:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Key file for the records</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Key files (*.key);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SaveStep</name>
    <message>
        <source>This computer has no font for Chinese text.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved to {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter the team server&apos;s URL first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Signing in…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Testing…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot save {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The settings were saved; the secret is kept for this session only.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SettingsGroup</name>
    <message>
        <source>saved — type to replace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not set</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StartPage</name>
    <message>
        <source>Ready to install</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the profile below, then connect the first board.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Active profile</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Profile</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>counting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Profile:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mode:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device model:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Minimum firmware:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Credential source:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Credentials left:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Installer:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provider account</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not checked yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Offline work</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Take credentials for offline work…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Return unused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>History…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect a board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(default: the file&apos;s settings)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>any</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Direct (device talks to WeCom)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cloud-to-cloud</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Register each board with WeCom</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Imported inventory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partner service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(not set — open Settings)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Team server {url}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Team server (or a lease when offline)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Demo mode: a simulated board and a local WeCom emulator stand in for real hardware and a real account. Nothing leaves this computer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n credential(s) held for offline work</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>issued by the team server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>issued on demand</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n credential(s) available</source>
        <translation>
            <numerusform>%n credential available</numerusform>
            <numerusform>%n credentials available</numerusform>
        </translation>
    </message>
    <message>
        <source>Checking the provider account…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The provider account works.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The provider account has a problem: see below and open Settings.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TeamGroup</name>
    <message>
        <source>Team server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>https://… (empty: no team server)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sign in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server URL:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Installer token:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>WifiBar</name>
    <message>
        <source>Site Wi-Fi for every board:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>network name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>password (empty: open network)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use for every board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Leave their network</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Site Wi-Fi: asked once, when the first board needs it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wi-Fi: the boards keep their own network.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wi-Fi for every board: {ssid} (kept for this session only)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>WritePage</name>
    <message>
        <source>Writing the credential</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keep the board plugged in until the last step is done.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%v of %m steps</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Steps</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Obtain an SN and its credential</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Write them to the board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Verify (the board proves it holds the credential)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Lock it into flash</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>already done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN {sn}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(resumed from this computer&apos;s record)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>app</name>
    <message>
        <source>WeCom device installer</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>argparse</name>
    <message>
        <source>show program&apos;s version number and exit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>usage: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>positional arguments</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>options</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>subcommands</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>show this help message and exit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%(prog)s: error: %(message)s
</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>argument %(argument_name)s: %(message)s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the following arguments are required: %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>one of the arguments %s is required</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not allowed with argument %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unrecognized arguments: %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>invalid choice: %(value)r (choose from %(choices)s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>invalid %(type)s value: %(value)r</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>expected one argument</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>expected at most one argument</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>expected at least one argument</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>expected %s argument</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>expected %s arguments</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>ambiguous option: %(option)s could match %(matches)s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>ignored explicit argument %r</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unexpected option string: %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown parser %(parser_name)r (choices: %(choices)s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>can&apos;t open &apos;%(filename)s&apos;: %(error)s</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>bench</name>
    <message>
        <source>Connecting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Identifying the board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Getting a credential</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Writing the credential</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Verifying</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Locking in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wi-Fi</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Binding code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting for the admin&apos;s scan</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Companion app</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>waiting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>retrying</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>skipped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>failed</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>cli</name>
    <message>
        <source>a whole number from {low} to {high}, not {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a number from {low} to {high}, not {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>check the WeCom corpid/provider secret and the partner service URL/token</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Validate the provider settings with harmless calls: a WeCom provider token and one list_device page, and one read from the partner service.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>one JSON object instead of lines</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All checked settings work.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a whole number from 1 to 16, not {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not a number: {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>try the app with simulated boards and a local provider emulator</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start the provider emulator and simulated boards (kept in DATA_DIR/demo), then open the wizard in demo mode, or run the whole flow in the terminal.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>run in the terminal, no window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>how many simulated boards (1 to 16, default %(default)s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the emulator scans each QR code S seconds after registration (default {headless} headless, {wizard} in the wizard; 0: never, use the emulator&apos;s operator page)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PDF files need Qt, and PySide6 is not installed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>through the team server: a private PostgreSQL, the server, the emulator&apos;s callbacks (headless; needs the server extra and PostgreSQL)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install the app with its Qt part, or print ZPL.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PySide6 is not installed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>there is no display (DISPLAY is not set)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Qt cannot open the display (on Debian or Ubuntu the wizard needs libxcb-cursor0, libxkbcommon-x11-0, libxcb-icccm4 and libxcb-keysyms1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The wizard cannot open: {reason}. Running the demo in the terminal instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The wizard did not start ({reason}). Running the demo in the terminal instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Demo: provider emulator at {url} (operator page {page}); simulated boards on {ports}; demo data in {folder}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The emulator plays the enterprise admin: it scans after {s} s.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>list serial ports, likely boards first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>List the serial ports, likely boards first (USB-serial bridges on the allowlist, then running simulators).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>print a JSON list</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>talk to one board: info, status, identify, reboot, reset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>show the board&apos;s model, firmware, HW_ID, state and SN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>show the board&apos;s network and WeCom state</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>make the board blink and beep for 5 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>restart the board and show it once it is back</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>erase the board&apos;s credential and Wi-Fi (state BLANK)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Erase the board&apos;s credential and Wi-Fi settings; it becomes BLANK and can be provisioned again. Asks the board for its HW_ID first and names it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>really erase (required)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>serial port or pyserial URL (/dev/ttyUSB0, COM3, socket://host:port)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Board on {port}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Firmware</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>HW ID</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Protocol</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No serial ports found. Plug the board in.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>likely</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>simulated</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Port</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Serial</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Description</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Network: {net}   WeCom: {wecom}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bound to: {corp}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board on {port} is blinking and beeping for 5 seconds.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restarting the board on {port}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board is back.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Refusing to erase without --yes: factory-reset deletes the board&apos;s SN, credential and Wi-Fi settings, and a board bound to an enterprise stops working until it is provisioned again. Run installer-app device info --port {port} to see which board it is, then add --yes.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Board {model} (HW ID {hw_id}, SN {sn}) on {port} was reset: its state is now {state}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>exit codes:
  0  done (every board)
  2  usage or configuration
  3  device (not found, faulty, wrong model, or holding a credential this computer did not issue)
  4  provider (WeCom or the partner service refused, or the SN is registered elsewhere)
  5  timed out waiting for the binding or the companion app
  6  no credential available (inventory empty)
  with several boards: the worst one, in the order 130, 1, 2, 3, 4, 6, 5</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>provision boards: credential, verify, lock, Wi-Fi, binding QR, binding watch</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provision one or more boards end to end. The Wi-Fi password never goes on the command line: set {env} or type it at the hidden prompt.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a board&apos;s port (repeat for several)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>every detected board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>join this Wi-Fi network</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>one JSON object per line on stdout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>stop once the QR code is shown (not bound yet)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>seconds to wait for the binding and the companion app ([binding] timeout_s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The Wi-Fi network name must be 1 to 32 bytes.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The Wi-Fi password for {ssid} is needed, and there is no terminal.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set the environment variable {env}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wi-Fi password for {ssid} (empty for an open network): </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The Wi-Fi password must be empty (open network), 8 to 63 characters, or 64 hex digits.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No board was found on any serial port.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Plug the board in (check the cable), or name its port with --port.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Board</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Credential</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Write</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Verify</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Lock</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wi-Fi</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>QR code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Binding</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Companion app</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>started</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>in progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>waiting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>retrying</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>ok</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>skipped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>FAILED</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Scan in WeCom to bind the board: {url}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done: SN {sn} is bound to {corp}; companion app: {app}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done: SN {sn} is provisioned; not bound yet (--no-wait).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot scan? The enterprise admin can add the board by typing its SN:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>In the WeCom mobile app: {path}, then type the SN above.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not checkable</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>installed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not installed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>--wifi-ssid does not apply to this configuration.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>serve a simulated board on a pseudo-terminal or a TCP port</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Serve a simulated board that speaks the provisioning protocol. Prints the port to connect to on its first line, then runs until Ctrl-C or SIGTERM.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>on a pseudo-terminal (Linux, macOS)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>on socket://127.0.0.1:PORT (0: any free port)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the board&apos;s flash (kept across runs); default: none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>seconds before each answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the board&apos;s model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the board&apos;s HW_ID, 6..16 bytes in hex</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a board without Wi-Fi (online by ethernet)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>log lines at random times</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>share of requests ignored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>share of answers sent with a bad CRC</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the first COMMIT fails with FLASH_FAIL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>answer the first N requests BUSY</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the port vanishes in the middle of the first CMD (e.g. COMMIT), then comes back</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the provider emulator to ask whether the board is bound</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>makes noise and random faults reproducible</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The simulator cannot start with these options: {why}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>See installer-app simulate-device --help.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Simulated {model} (HW_ID {hw_id}) is waiting on {url}. Stop it with Ctrl-C.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Simulated board stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The simulator cannot open its port: {why}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>On Windows use --tcp; with --tcp choose a free port (0: any).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>import and count pre-registered credentials (the provider admin&apos;s export)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>import a CSV/TSV/.xlsx export; all or nothing (exit 2 when any row is rejected)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the export file: CSV, TSV or .xlsx</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>print one JSON object</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>how many credentials are free</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>count only this model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the boards provisioned on this computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>one JSON object per board and line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>write a CSV file for Excel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>part of an SN, HW_ID, corp or name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>at most N boards</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>on the team server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>waiting to be sent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>refused by the team server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the CSV file name must not be empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not a whole number of at least 1: {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Imported {imported} credentials from {file}; {duplicates} were already in the store.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was imported from {file}: {count} rows are rejected.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The team server is not part of this installation: pip install &apos;installer-app[server]&apos;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a whole number from 1 to 64, not {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a port from 0 to 65535, not {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>postgresql://user:pass@host:port/db (else INSTALLER_DATABASE_URL, else [server] database_url)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>run the team server (the partner service)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>address to listen on</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>port (0: any free one)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>worker processes sharing the socket</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>manage the team server&apos;s database and installers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>create or update the schema</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>create an installer token (shown once)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>one JSON object</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>revoke an installer&apos;s token at once</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>list installers and admins</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>one JSON object per line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>add the provider admin&apos;s export to the pool</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>model of rows that name none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>write every device as CSV (no secrets)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>file (default: standard output)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Schema up to date ({n} migrations applied).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot listen on {host}:{port}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Installer {name} ({role}) added. Its token, shown only now:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Installer {name} revoked.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Added {added} SNs to the pool; {dup} were there already; {bad} rows rejected.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>  row {row}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Team demo: team server at {server} on a private PostgreSQL; provider emulator at {url} (it plays WeCom and pushes the companion app&apos;s callbacks); simulated boards on {ports}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Correct or remove these rows, then import the whole file again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Inventory: {total} credentials, {free} free, {assigned} given to boards.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wrote {count} boards to {file}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No boards in the history yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the data folder must not be empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>TOML settings file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>where the store and logs are kept</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>language of messages and of this help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>log to stderr as well</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provision WeCom smart-hardware devices: serial credentials, binding QR, binding watch. With no subcommand the wizard opens.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>run a local WeCom provider API + partner service emulator (for demos and tests)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Serve the WeCom provider API and the partner service on loopback, with an operator page to bind devices to a test enterprise. Runs until Ctrl-C.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>address to listen on (loopback)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>port (default %(default)s; 0 = any)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>state file (default: {file} in the data directory)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>keep state in memory only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>seconds from a binding to the companion app&apos;s install (default %(default)g)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>bind every device automatically S seconds after it is registered or first polled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>provider token lifetime in seconds (default %(default)g)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>answer binding lookups with the enterprise&apos;s plain corpid or the provider-level open corpid a third-party app sees (default %(default)s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Warning: this computer has no font for Chinese, so Chinese text in the PDF shows as empty boxes. Install one (on Debian or Ubuntu: apt install fonts-noto-cjk).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not a size in mm like 50x30: {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not a date like 2026-12-01: {text}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>print device labels: SN, HW_ID, model, static QR code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a board&apos;s SN (repeat for more)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>every board bound to this enterprise</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>every board provisioned today</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A4 sheet (PDF), one label per page (PDF), or ZPL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>labels per sheet, columns x rows (default 3x8)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>sheet margin on every side, in mm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>gap between labels, in mm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>roll or ZPL label size in mm (default 50x30)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>also copy the ZPL to this printer share or device</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the file to write</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the site handover: PDF report, CSV and XLSX of one enterprise</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the enterprise (corpid)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>first day (YYYY-MM-DD)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>last day (default today)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the folder to write to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>team mode: this laptop&apos;s records only, not the team server&apos;s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SNs {sns}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no board is bound to {corp}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no board was provisioned today</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No static QR code in the history for: {sns}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wrote {count} labels to {file}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wrote the handover of {corp} ({count} devices): {files}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>team mode: credentials taken from the team server for offline sites</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>take N credentials for offline work (1 to 200)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>give the unused leased credentials back</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the leases this laptop holds</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>team mode: send the records waiting for the team server now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Team mode is not configured: [team] url is empty.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set [team] url to the team server&apos;s address (docs/team-mode.md).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Took {count} credentials for offline work (lease {lease}, until {until}); {held} are held on this laptop.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gave {count} unused credentials back to the team server.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This laptop holds no lease.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>returned</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>until {until}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{lease}  {model}  {unused} unused, {used} used  ({state})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sent {sent} records to the team server ({duplicates} it had already); {left} left to send.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Refused by the team server: {step} of SN {sn} ({reason}); the record stays on this laptop.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>config</name>
    <message>
        <source>Setting {key} in {file}: {problem}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Correct the file, or remove the key to use the default.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be at most {limit} letters A-Z, a-z and digits, found {found!r}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>expected {kind}, found {found!r}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be one of {choices}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown section</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown key (secrets go to the credential store or the environment)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be a finite number, not {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be from {low} to {high}, not {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a profile is a table of settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no [profiles.{name}] table</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a dynamic QR code is signed with the device&apos;s own SecretNo, which the app does not know with [provider] secret_mode = &quot;seed&quot;: use qr = &quot;static&quot;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The configuration file {file} does not exist.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot read {file}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{file} is not valid TOML: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This computer has no usable credential store ({reason}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set {env} in the environment instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it contains spaces or other invisible text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is not a valid URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it must start with https://</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it names no host</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it must not carry a user name or password</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it must not have a query (?) or fragment (#)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>http:// would send the provider secret and the installer token in clear: use https:// (http:// only for 127.0.0.1, ::1 or localhost)</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>device</name>
    <message>
        <source>The device sent a malformed answer to {command}: {problem}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check that the port belongs to a supported board and that its firmware is up to date.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the device reported error {code}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The device refused {command}: {what} ({detail}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The device refused {command}: {what}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it could not read the request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Try again; if it keeps happening, update the app.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its firmware does not know this command</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Update the board&apos;s firmware.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a value was missing, too long or not allowed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the SN, the credential or the confirmation sent.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is already provisioned with another credential</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This board belongs to another SN. Use installer-app device factory-reset only if you are sure it must be provisioned again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no credential has been written to it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Write the credential first, then try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>writing its flash failed; nothing was stored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Try again; if it fails again the board is faulty: set it aside.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it stayed busy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wait a few seconds and try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No answer from the device on {port} to {command} after {tries} tries.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the cable and the power, and that this is the right port.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close the other program (e.g. a serial monitor), then try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add your user to the dialout group: sudo usermod -aG dialout $USER, then log out and in again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The serial port {port} does not exist.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Plug the board in, then run installer-app ports to see the ports there are.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The serial port {port} is in use by {holders}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The serial port {port} is in use by another program.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close any other program using the port, or check the port&apos;s permissions.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Permission denied opening the serial port {port}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The device on {port} was disconnected.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check that the cable is plugged in firmly, then try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The device on {port} speaks provisioning protocol version {proto}; this app speaks version 1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Update the app or the board&apos;s firmware.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot use the serial port {port}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unplug and re-plug the board, then run installer-app ports.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The simulator&apos;s state file {path} is unreadable.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete it to start with a blank board, or pass another file.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot write the simulator&apos;s state file {path}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the folder exists and is writable.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>emulator</name>
    <message>
        <source>Warning: --host {host} makes the emulator reachable from other computers. It has no real security: anyone who can reach it can read its test secrets. Use it on a trusted network only.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provider emulator at {url} stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provider emulator running at {url}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Operator page (open it in a browser): {url}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings for installer-app:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The emulator&apos;s test secrets (not real ones) go into the environment:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model ids it knows: {models}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State file: {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State is kept in memory only.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Devices are bound automatically {seconds} s after they are registered.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Press Ctrl-C to stop.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot listen on {host}:{port}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose another --port, or stop the program using this one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot read the emulator state file {path}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check its permissions: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The emulator state file {path} is damaged.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete it or pass another --state file to start empty.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>handover</name>
    <message>
        <source>Site handover</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Devices at {corp}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{corp} — page {page} of {pages}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enterprise</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dates</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Installers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Devices</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The devices listed on the following pages were installed at the site above. Failed and skipped devices are listed too.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Installer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Customer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Signature</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>bound, app installed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>bound</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>skipped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unfinished</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The range ends ({last}) before it starts ({first}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No boards for the enterprise {corp} from {first} to {last}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the corpid and the dates in the history.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Location</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>HW_ID</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Companion app</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>installed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not installed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot write {file}: {reason}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a folder you can write to.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The team server&apos;s records cannot be read now: {why}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Try again when the team server can be reached, or make the package from this laptop&apos;s records only (installer-app handover --local; in the wizard: Records: this laptop).</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>labels</name>
    <message>
        <source>blank (no credential)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>credential written, not locked</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>provisioned (locked)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not connected</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>on the network, not yet online</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>online (reached WeCom)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>idle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>registered</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>waiting for the binding</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>bound to an enterprise</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>in the inventory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>credential reserved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>credential written</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>credential verified</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>locked</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>bound</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>companion app installed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This profile shows dynamic binding QR codes, which expire: labels carry the static code from registration instead, never a dynamic one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No board with these SNs in the history: {sns}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the SNs with: installer-app history</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No boards to label: {what}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A sheet holds 1 to 20 columns and 1 to 40 rows, not {cols} × {rows}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Margins and gaps cannot be negative.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>With these margins and gaps each label is {w} × {h} mm; it needs at least {min} × {min} mm.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use fewer columns or rows, or smaller margins.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A roll label is {min} to 300 mm wide and high, not {w} × {h} mm.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no static QR code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model {model}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Device labels</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot write {file}: {reason}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the path and that you may write there.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>provider</name>
    <message>
        <source>WeCom provider API: not configured (not needed in cloud mode).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>corpid</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>provider secret</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom provider API: the {missing} is not set.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set [provider] corpid in the settings file, and the provider secret in the credential store or INSTALLER_PROVIDER_SECRET.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom provider API at {host}: corpid {corpid} and provider secret work.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partner service: not configured; whether the companion app is installed cannot be checked.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>installer token</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partner service: the {missing} is not set.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set [partner] base_url in the settings file, and the installer token in the credential store or INSTALLER_PARTNER_TOKEN.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Partner service at {host}: the installer token works.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Team server: the installer token is not set.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the installer token in the settings (credential store), or set INSTALLER_PARTNER_TOKEN.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Team server at {host}: signed in as {installer}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The WeCom provider API is busy (errcode {errcode}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The app retries on its own; if this persists, try again in a few minutes.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom is busy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom refused the provider secret (errcode {errcode}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The provider secret in settings is wrong: copy it again from the provider admin (服务商管理后台) and save it in settings.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom refused the corpid (errcode {errcode}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The corpid in settings is wrong: use the provider&apos;s corpid shown in the provider admin.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom refused the access token even after a refresh (errcode {errcode}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wait a minute and try again; if it persists, check the provider secret.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>access token refused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom is rate limiting this account (errcode {errcode}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The app waits and tries again; a per-minute block lasts about a minute.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>rate limited</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom reports too many concurrent calls (errcode {errcode}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The app waits and tries again; run fewer installer stations at once.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>too many concurrent calls</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom rejected the SN or does not know it (errcode {errcode}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The SN source is wrong: check the SN prefix in settings or the inventory file (SNs are 1 to 128 letters and digits).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This SN is already registered with WeCom (errcode {errcode}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Its SecretNo cannot be fetched again: import it from the provider admin&apos;s export, or use a new SN.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The device is not bound to any enterprise yet (errcode {errcode}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An enterprise admin scans the binding QR code in the WeCom app.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom says this device&apos;s SecretNo is invalid (errcode {errcode}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The device must get new credentials: reset its SecretNo in the provider admin, then provision it again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom does not know this model (errcode {errcode}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>model_id in settings is wrong: use a model id from the provider admin.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The provider API answered errcode {errcode}: {errmsg}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Look the code up in the WeCom documentation, or send this message to the provider admin.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The partner service refused the installer token.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom says this device has already registered itself (errcode {errcode}): the board was activated before.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop here and set this board aside: it has already opened its own connection to WeCom. Ask the provider admin before provisioning it again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom says the model_id is missing (errcode {errcode}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set model_id in settings to the model id shown in the provider admin (服务商管理后台).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom says the model_id is invalid (errcode {errcode}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>model_id in settings is wrong: copy it exactly as the provider admin shows it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>WeCom says this SN has expired (errcode {errcode}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The SN&apos;s validity in the provider admin (服务商管理后台) has ended: extend it there, or use another SN.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The installer token in settings is wrong or revoked: ask the partner for a new one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The team server does not allow this installer to do that.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask the team server&apos;s administrator.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The team server has no credential left for this model.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask the team server&apos;s administrator to import more SNs into its pool.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The partner service is rate limiting this installer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The app waits as the service asks and tries again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The partner service does not know this SN.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Register the device with the partner service first, or check the SN.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot reach {host} ({detail}): check the network.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the network connection and the server address in settings; the app retries on its own.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>network down or server unreachable</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{host} answered HTTP {status} without the expected JSON ({detail}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the server address in settings: it must point at the WeCom API or the partner service.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The request to the provider was cancelled.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{reason}, retrying in {seconds} s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>connection timed out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no answer in time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>connection failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>connection dropped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>network error {kind}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>server error HTTP {status}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not a JSON object</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unexpected HTTP status</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>fields missing from the answer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The binding QR link is not valid: {problem}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the provider settings; switch to the dynamic QR code if this persists.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it would carry a secret</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it does not point at WeCom&apos;s binding page</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its parameters are not WeCom&apos;s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it has no hw_code</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>server</name>
    <message>
        <source>An installer name is 1 to {n} printable characters.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An installer named {name} exists.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose another name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No installer is named {name}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server setting {key}: {problem}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fix it in the [server] section or the environment.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be a table</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown key (secrets come from the environment)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>wrong type</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a list of model IDs (text)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>register or inventory</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>from 0.1 to 3600 seconds</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>20 or more</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must use https unless the host is loopback</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No database is configured.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Give --database-url postgresql://user:pass@host:port/db, or set INSTALLER_DATABASE_URL, or [server] database_url.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must start with postgresql://</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a database on another host needs sslmode=require or verify-full</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the 43-character EncodingAESKey</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cannot be read</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>32 random bytes in standard Base64 (44 characters)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is not set.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The team server needs it: see docs/server.md.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database does not answer ({reason}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check that PostgreSQL runs and the database URL.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PostgreSQL&apos;s server programs are not installed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install the postgresql package ({command}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no model_id in the row and no --model-id given</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>store</name>
    <message>
        <source>SN {sn} is already in the store with another SecretNo.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN {sn} is already assigned to board {held_by}; it cannot go to board {wanted_by}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An SN is given to one board only, ever. Use another SN, or check the history for the board that holds it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Board {hw_id} already holds SN {held_sn}; it cannot also get {sn}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume the board with the SN it already holds.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN {sn} is not in the store.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN {sn} is {current}; it cannot move to {wanted} (stages only move forward).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The store refused a change that would break its rules: {reason}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was changed. Check the history of this board, then retry.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database file is damaged: {file} ({reason}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keep a copy of the file, then restore it from a backup or move it away to start a new one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database {file} was written by a newer version of the app (schema {found}, this version knows {known}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Update the app to open it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The database {file} stayed busy in another program for too long.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close the other copy of the app that uses it, then try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot use the database {file}: {reason}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the folder&apos;s permissions and free space, or pick --data-dir.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>To keep the key in a file only you can read instead: in the wizard, Settings → Records → Key file; on the command line, key_file in the [store] section of the configuration, or the environment variable {env}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This computer has no credential store to keep the database key ({reason}), so the app will not keep device secrets.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This copy of the app was built without access to the Linux desktop keyring (Secret Service), so it will not keep device secrets there.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The key file {file} can be read by other users (permissions {mode}); the app will not use it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run: chmod 600 {file}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot use the key file {file}: {reason}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The key file holds one line of base64 (32 bytes). Restore it from your backup; without it the stored SecretNos cannot be read.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The encryption key does not match the database {file}: its SecretNos were stored with another key.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use the key file or credential store this database was created with.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot write {file}: {reason}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a folder you can write to.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot import {file}: {reason}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use the file exported by the provider admin: UTF-8 CSV (comma or tab) or .xlsx, with the columns device_sn and secret_no (or 设备SN and 调用凭证).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is not a text or .xlsx file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is not a valid CSV file ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is not a readable .xlsx workbook ({reason})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the {column} cell is TRUE or FALSE, not text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the {column} cell is a fraction, not an SN or text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the {column} cell is a number of more than 15 digits, whose last digits Excel has already lost; format the column as Text and enter the values again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the {column} cell is too long</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot import {file}: it is not UTF-8, UTF-16 or GB18030 (GBK) text.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open it in Excel and choose File &gt; Save As &gt; &quot;CSV UTF-8 (Comma delimited)&quot; (or save it as .xlsx), then import that file.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a line is longer than {limit} characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it unpacks to {size} MB, more than the {limit} MB an inventory workbook may take; split it, or save it as CSV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is an old .xls workbook; save it as .xlsx or CSV in Excel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the column {column} appears twice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it has no {column} column (columns found: {found})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it has more than {limit} rows; split it into files of at most {limit} rows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no device_sn</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN {sn} is not valid: 1 to 128 letters A-Z, a-z and digits</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN {sn} has no SecretNo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the SecretNo of SN {sn} is not valid: 1 to 128 printable ASCII characters without spaces</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN {sn} appears again (first on row {first})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN {sn} is for model {model}, not the configured {expected}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the QR code of SN {sn} is not usable: {problem}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN {sn} is already in the store with another SecretNo</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>team</name>
    <message>
        <source>No credential for this board: the team server cannot give one ({why}) and this laptop holds no leased credential for the model.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect to the team server, or take credentials for offline work before leaving: installer-app leases take N.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The team server refused the record of SN {sn}: it ties this SN to another board ({reason}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set this board aside and tell the team server&apos;s administrator; the record stays on this laptop and nothing was overwritten.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>workflow</name>
    <message>
        <source>The partner service gave no binding QR code for {sn}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask the partner service&apos;s operator.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Already bound to {corp}: no QR code needed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No static QR code is known for this SN; showing the dynamic one.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting for the enterprise admin to scan the QR code in WeCom (Workbench → Manage enterprise → Smart hardware → Add device).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The QR code was renewed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Written and locked; the binding is to be confirmed by the team server, which cannot be reached now. The record is kept.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board reports it is bound to {corp}; confirming.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bound to {corp}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting for the companion app to be installed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The companion app cannot be checked: no partner service is configured.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the companion app</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the binding</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Something unexpected went wrong; the details are in the log file.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This board is a {found}, but the app is set up for {expected}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect a {expected} board, or change [provider] model_id in the settings.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Board {hw_id} is already provisioned with SN {sn}, which this computer did not issue. It was left untouched.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provision it from the computer that issued that SN, or factory-reset it if you are sure it is not in use.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board did not prove the credential of SN {sn} (it reports SN {device_sn}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check the cable and try again; if it repeats, the board is faulty.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No unused SN is left in the inventory.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import a new export from the provider admin: installer-app inventory import FILE.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN {sn} for board {hw_id} is already registered with WeCom, but not by this computer. Nothing was written to the board.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provision the board from the computer that registered it, or ask the provider admin to delete the SN if it was never used.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped at the installer&apos;s request.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start again with the same board: it resumes where it stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board was skipped; nothing was changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Gave up waiting for {what} of SN {sn} after {s} s.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run provision again for the same board: it resumes and waits again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board already holds this credential.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Factory reset of the board.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board already holds SN {sn}: resuming where it stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The credential is already locked in.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board&apos;s network was left as it is.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This board has no Wi-Fi (it does not know SET_WIFI).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board is not online yet; check the network name and password. The binding can go ahead meanwhile.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board is written; its binding is to be confirmed by the server.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board is provisioned and bound.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The board is provisioned; the QR code is ready for the binding.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The setting {key} is needed to provision, but it is empty ({file}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set it in the configuration file or in the settings dialog.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save it in the settings dialog (OS credential store), or set the environment variable {env}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>[provider] mode = {mode} does not go with [credentials] source = {chosen} ({file}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cloud-to-cloud mode takes its credentials from the partner service (source = partner); direct mode uses register or inventory.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>SN {sn} holds the model&apos;s seed SecretNo and has no static QR code; a dynamic code cannot be signed with a seed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import the provider admin&apos;s export with its qr_code column, or set [provider] secret_mode = &quot;per_device&quot; if this model has no seed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cloud-to-cloud mode: the partner&apos;s cloud sets up the board&apos;s network, not this app.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>blank</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>in progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>needs the admin</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>done here</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>provisioned elsewhere</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>wrong model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>firmware too old</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There is no profile named {name}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add a [profiles.{name}] table to the settings.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This board runs firmware {have}; this profile needs {need} or newer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Update the board&apos;s firmware first, or choose another profile on the Start page.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The bench&apos;s board worker could not open the session: {detail}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Press Retry on the board&apos;s card: it goes on from the step it had reached.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The bench&apos;s board worker stopped unexpectedly (exit code {code}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The bench&apos;s board worker could not start: {detail}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
