<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>BenchPage</name>
    <message>
        <source>Bench: every board at once</source>
        <translation>工作台：所有设备同时配置</translation>
    </message>
    <message>
        <source>Plug the boards in: each one appears below and a blank board starts by itself. Boards done here, provisioned elsewhere or of another model are left alone.</source>
        <translation>插入设备即可：每台设备都会显示在下方，空白设备会自动开始配置。已在本机完成、已在别处配置或型号不符的设备不会被改动。</translation>
    </message>
    <message>
        <source>Start new blank boards by themselves</source>
        <translation>新插入的空白设备自动开始</translation>
    </message>
    <message>
        <source>No board is plugged in yet.</source>
        <translation>尚未插入设备。</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>返回</translation>
    </message>
    <message>
        <source>One board at a time</source>
        <translation>逐台配置</translation>
    </message>
    <message>
        <source>Print labels…</source>
        <translation>打印标签…</translation>
    </message>
    <message>
        <source>Labels for the selected boards, or for every done board if none is selected.</source>
        <translation>为选中的设备打印标签；未选中时，为所有已完成的设备打印。</translation>
    </message>
    <message>
        <source>Scanned {code}: selected {port}.</source>
        <translation>已扫描 {code}：已选中 {port}。</translation>
    </message>
    <message>
        <source>Scanned {code}: no board on the bench matches.</source>
        <translation>已扫描 {code}：工作台上没有匹配的设备。</translation>
    </message>
    <message>
        <source>No board to label yet: select a card whose board has an SN, or wait until a board is done.</source>
        <translation>暂无可打印标签的设备：请选择已有 SN 的设备卡片，或等待设备完成。</translation>
    </message>
</context>
<context>
    <name>BindPage</name>
    <message>
        <source>Bind the board to the enterprise</source>
        <translation>将设备绑定到企业</translation>
    </message>
    <message>
        <source>The enterprise&apos;s admin scans this code with WeCom on their phone.</source>
        <translation>请企业管理员用手机企业微信扫描此二维码。</translation>
    </message>
    <message>
        <source>For the enterprise admin (超级管理员 / 设备管理员)</source>
        <translation>企业管理员操作步骤（超级管理员 / 设备管理员）</translation>
    </message>
    <message>
        <source>Workbench</source>
        <translation>工作台</translation>
    </message>
    <message>
        <source>Manage the enterprise</source>
        <translation>管理企业</translation>
    </message>
    <message>
        <source>Smart hardware</source>
        <translation>智慧硬件</translation>
    </message>
    <message>
        <source>Add a device</source>
        <translation>添加设备</translation>
    </message>
    <message>
        <source>Scan the code</source>
        <translation>扫码</translation>
    </message>
    <message>
        <source>In the WeCom mobile app:</source>
        <translation>在手机企业微信中：</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Device online</source>
        <translation>设备已联网</translation>
    </message>
    <message>
        <source>Bound to an enterprise</source>
        <translation>已绑定企业</translation>
    </message>
    <message>
        <source>Companion app installed</source>
        <translation>硬件应用已安装</translation>
    </message>
    <message>
        <source>Nothing happens? Make sure the admin scans from 智慧硬件 → 添加设备 (not the ordinary scanner), that the phone is online, and that the board&apos;s network light is on. A code that is more than 30 minutes old is renewed here by itself.</source>
        <translation>扫码后没有反应？请确认管理员是在“智慧硬件 → 添加设备”中扫码（而不是用普通的“扫一扫”），手机已联网，且设备的网络指示灯已亮起。二维码超过 30 分钟会在此自动更新。</translation>
    </message>
    <message>
        <source>Demo</source>
        <translation>演示</translation>
    </message>
    <message>
        <source>Open the emulator&apos;s scan page</source>
        <translation>打开模拟服务的扫码页面</translation>
    </message>
    <message>
        <source>Simulate the admin&apos;s scan</source>
        <translation>模拟管理员扫码</translation>
    </message>
    <message>
        <source>Cannot scan? Add the board by its SN</source>
        <translation>无法扫码？按 SN 添加设备</translation>
    </message>
    <message>
        <source>Copy SN</source>
        <translation>复制 SN</translation>
    </message>
    <message>
        <source>In the WeCom mobile app: {path}, then type this SN.</source>
        <translation>在企业微信手机端：{path}，填写此处的 SN。</translation>
    </message>
    <message>
        <source>Copied</source>
        <translation>已复制</translation>
    </message>
    <message>
        <source>Waiting for {minutes}:{seconds:02d}</source>
        <translation>已等待 {minutes}:{seconds:02d}</translation>
    </message>
    <message>
        <source>Bound to {enterprise}</source>
        <translation>已绑定到 {enterprise}</translation>
    </message>
    <message>
        <source>Not checkable without a partner service.</source>
        <translation>未配置合作伙伴服务，无法检查。</translation>
    </message>
</context>
<context>
    <name>BindingQueue</name>
    <message>
        <source>Binding queue</source>
        <translation>绑定队列</translation>
    </message>
    <message>
        <source>Enterprise admin: in WeCom, scan each code in turn. The next one comes up by itself as soon as WeCom confirms the board.</source>
        <translation>企业管理员：请在企业微信中依次扫码。企业微信确认一台设备后，下一个二维码会自动显示。</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>上一个</translation>
    </message>
    <message>
        <source>Skip</source>
        <translation>跳过</translation>
    </message>
    <message>
        <source>{n} of {total}</source>
        <translation>第 {n} 个，共 {total} 个</translation>
    </message>
    <message>
        <source>HW_ID {hw_id} · SN {sn}</source>
        <translation>HW_ID {hw_id} · 设备SN {sn}</translation>
    </message>
    <message>
        <source>No board is waiting for the binding yet.</source>
        <translation>暂无等待绑定的设备。</translation>
    </message>
    <message>
        <source>{bound} bound; {waiting} skipped, still waiting (Back shows them).</source>
        <translation>已绑定 {bound} 台；跳过 {waiting} 台，仍在等待（点“上一个”可再次显示）。</translation>
    </message>
    <message>
        <source>All {bound} boards are bound. The queue is empty.</source>
        <translation>全部 {bound} 台设备已绑定，队列已清空。</translation>
    </message>
</context>
<context>
    <name>BoardCard</name>
    <message>
        <source>Waiting for the board…</source>
        <translation>等待设备…</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在开始…</translation>
    </message>
    <message>
        <source>{model} · HW_ID {hw_id}</source>
        <translation>型号 {model} · HW_ID {hw_id}</translation>
    </message>
    <message>
        <source>In the binding queue.</source>
        <translation>已加入绑定队列。</translation>
    </message>
    <message>
        <source>Bound to {corp} on {when}.</source>
        <translation>已于 {when} 绑定到 {corp}。</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>SN {sn} is bound to {corp}.</source>
        <translation>SN {sn} 已绑定到 {corp}。</translation>
    </message>
    <message>
        <source>Check again</source>
        <translation>重新检查</translation>
    </message>
    <message>
        <source>Already done: left as it is.</source>
        <translation>已完成：保持不变。</translation>
    </message>
    <message>
        <source>Not ours to provision: left alone.</source>
        <translation>不应由本机配置：未做改动。</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <source>Ready to start.</source>
        <translation>可以开始。</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>开始</translation>
    </message>
</context>
<context>
    <name>ConnectPage</name>
    <message>
        <source>Connect the board</source>
        <translation>连接设备</translation>
    </message>
    <message>
        <source>Plug the board into this computer with a USB data cable. It appears below by itself.</source>
        <translation>请用 USB 数据线将设备连接到这台电脑，设备会自动显示在下方。</translation>
    </message>
    <message>
        <source>Back</source>
        <translation>返回</translation>
    </message>
    <message>
        <source>Blink (identify)</source>
        <translation>闪灯识别</translation>
    </message>
    <message>
        <source>The selected board blinks its LED and beeps for 5 seconds.</source>
        <translation>所选设备的指示灯将闪烁并蜂鸣 5 秒。</translation>
    </message>
    <message>
        <source>Provision this board</source>
        <translation>配置此设备</translation>
    </message>
    <message>
        <source>Scanned {code}: selected {port}.</source>
        <translation>已扫描 {code}：已选中 {port}。</translation>
    </message>
    <message>
        <source>Bench view (every board)</source>
        <translation>工作台视图（所有设备）</translation>
    </message>
    <message>
        <source>Scanned {code}: no connected board matches.</source>
        <translation>已扫描 {code}：没有匹配的已连接设备。</translation>
    </message>
    <message>
        <source>Select the board to provision, then press Provision.</source>
        <translation>请选择要配置的设备，然后点击“配置此设备”。</translation>
    </message>
    <message>
        <source>No USB-serial board found yet. Check that:
• the cable carries data (some USB cables only charge);
• the USB-serial driver (CP210x, CH340/CH9102 or FTDI) is installed;
• on Linux, your user is in the dialout group (sudo usermod -aG dialout $USER, then log in again);
• the board is powered and its USB port is the console port.</source>
        <translation>尚未发现 USB 串口设备。请检查：
• 数据线支持数据传输（部分 USB 线只能充电）；
• 已安装 USB 转串口驱动（CP210x、CH340/CH9102 或 FTDI）；
• 在 Linux 上，当前用户已加入 dialout 组（执行 sudo usermod -aG dialout $USER 后重新登录）；
• 设备已通电，且插的是设备的调试串口（console）所在的 USB 口。</translation>
    </message>
    <message>
        <source>Asking {port} to blink…</source>
        <translation>正在让 {port} 上的设备闪灯…</translation>
    </message>
    <message>
        <source>{port} is blinking and beeping for 5 seconds.</source>
        <translation>{port} 上的设备正在闪灯并蜂鸣，持续 5 秒。</translation>
    </message>
</context>
<context>
    <name>CrashDialog</name>
    <message>
        <source>Something went wrong</source>
        <translation>出现问题</translation>
    </message>
    <message>
        <source>The installer hit an unexpected error. The board&apos;s record is safe: every step is saved as it happens. You can continue, or quit and start again.</source>
        <translation>安装工具遇到了意外错误。设备的记录不会丢失：每完成一步都已及时保存。您可以继续，或退出后重新开始。</translation>
    </message>
    <message>
        <source>The details are in the log file: {path}</source>
        <translation>详细信息已写入日志文件：{path}</translation>
    </message>
    <message>
        <source>The details below were written to the log.</source>
        <translation>以下详细信息已写入日志。</translation>
    </message>
    <message>
        <source>Copy details</source>
        <translation>复制详细信息</translation>
    </message>
    <message>
        <source>Continue</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
</context>
<context>
    <name>DevicePage</name>
    <message>
        <source>The board</source>
        <translation>当前设备</translation>
    </message>
    <message>
        <source>Reading the board…</source>
        <translation>正在读取设备信息…</translation>
    </message>
    <message>
        <source>Opening the port…</source>
        <translation>正在打开端口…</translation>
    </message>
    <message>
        <source>Board</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Port:</source>
        <translation>端口：</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation>型号：</translation>
    </message>
    <message>
        <source>Firmware:</source>
        <translation>固件：</translation>
    </message>
    <message>
        <source>HW_ID:</source>
        <translation>HW_ID：</translation>
    </message>
    <message>
        <source>State:</source>
        <translation>状态：</translation>
    </message>
    <message>
        <source>SN:</source>
        <translation>SN：</translation>
    </message>
    <message>
        <source>Factory reset…</source>
        <translation>恢复出厂设置…</translation>
    </message>
    <message>
        <source>Skip this board</source>
        <translation>跳过此设备</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>从中断处继续</translation>
    </message>
    <message>
        <source>Continue</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Asking the board who it is (HELLO)…</source>
        <translation>正在读取设备身份（HELLO）…</translation>
    </message>
    <message>
        <source>The board answered.</source>
        <translation>设备已应答。</translation>
    </message>
    <message>
        <source>This board already holds a credential</source>
        <translation>此设备已写入调用凭证</translation>
    </message>
    <message>
        <source>Continue resumes where it stopped; skip leaves it as it is.</source>
        <translation>点击“继续”将从上次中断处接着进行；点击“跳过此设备”则不做任何改动。</translation>
    </message>
    <message>
        <source>Already provisioned: SN {sn}, state {state}, this computer&apos;s record: {stage}.</source>
        <translation>已配置：SN {sn}，状态 {state}，本机记录：{stage}。</translation>
    </message>
    <message>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <source>A blank board</source>
        <translation>空白设备</translation>
    </message>
    <message>
        <source>Continue to give it a credential and lock it.</source>
        <translation>点击“继续”为其写入调用凭证并锁定。</translation>
    </message>
    <message>
        <source>Resume this board?</source>
        <translation>是否继续配置此设备？</translation>
    </message>
    <message>
        <source>It stopped at the stage &apos;{stage}&apos; with SN {sn}{bound}.</source>
        <translation>上次停在“{stage}”阶段，SN {sn}{bound}。</translation>
    </message>
    <message>
        <source>Resume continues from that stage without taking a new credential.</source>
        <translation>“从中断处继续”会接着该阶段进行，不会再占用新的调用凭证。</translation>
    </message>
    <message>
        <source>This board is already done</source>
        <translation>此设备已完成配置</translation>
    </message>
    <message>
        <source>SN {sn} was bound to {corp} on {when}.</source>
        <translation>SN {sn} 已于 {when} 绑定到 {corp}。</translation>
    </message>
    <message>
        <source>Check again asks WeCom whether it is still bound; nothing is written to the board. Skip leaves it as it is.</source>
        <translation>“重新检查”会向企业微信确认设备是否仍处于绑定状态，不会向设备写入任何内容；“跳过此设备”则保持不变。</translation>
    </message>
    <message>
        <source>Check again</source>
        <translation>重新检查</translation>
    </message>
    <message>
        <source>Factory reset the board {model} with HW_ID {hw_id} (SN {sn})?

It loses its credential and Wi-Fi settings. A board bound to an enterprise must also be removed there.</source>
        <translation>确定要将设备 {model}（HW_ID {hw_id}，SN {sn}）恢复出厂设置吗？

设备的调用凭证和 Wi-Fi 设置将被清除。如果设备已绑定企业，还需在该企业中将其删除。</translation>
    </message>
    <message>
        <source>Factory reset</source>
        <translation>恢复出厂设置</translation>
    </message>
</context>
<context>
    <name>DonePage</name>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>The board is provisioned and bound.</source>
        <translation>设备已配置并完成绑定。</translation>
    </message>
    <message>
        <source>Summary</source>
        <translation>摘要</translation>
    </message>
    <message>
        <source>SN:</source>
        <translation>SN：</translation>
    </message>
    <message>
        <source>HW_ID:</source>
        <translation>HW_ID：</translation>
    </message>
    <message>
        <source>Enterprise:</source>
        <translation>企业：</translation>
    </message>
    <message>
        <source>Companion app:</source>
        <translation>硬件应用：</translation>
    </message>
    <message>
        <source>Finished:</source>
        <translation>完成时间：</translation>
    </message>
    <message>
        <source>Installer:</source>
        <translation>安装人员：</translation>
    </message>
    <message>
        <source>Save installation report (PDF)…</source>
        <translation>保存安装报告（PDF）…</translation>
    </message>
    <message>
        <source>Next device</source>
        <translation>下一台设备</translation>
    </message>
    <message>
        <source>installed</source>
        <translation>已安装</translation>
    </message>
    <message>
        <source>not checkable (no partner service)</source>
        <translation>无法检查（未配置合作伙伴服务）</translation>
    </message>
    <message>
        <source>not installed yet</source>
        <translation>尚未安装</translation>
    </message>
    <message>
        <source>Save installation report</source>
        <translation>保存安装报告</translation>
    </message>
    <message>
        <source>PDF (*.pdf)</source>
        <translation>PDF 文件 (*.pdf)</translation>
    </message>
    <message>
        <source>Installation report</source>
        <translation>安装报告</translation>
    </message>
    <message>
        <source>Cannot write {path}</source>
        <translation>无法写入 {path}</translation>
    </message>
    <message>
        <source>The report was not saved: {reason}</source>
        <translation>报告未保存：{reason}</translation>
    </message>
    <message>
        <source>Binding QR code:</source>
        <translation>绑定二维码：</translation>
    </message>
    <message>
        <source>Writing the report…</source>
        <translation>正在生成报告…</translation>
    </message>
    <message>
        <source>Report saved to {path}</source>
        <translation>报告已保存到 {path}</translation>
    </message>
</context>
<context>
    <name>HandoverDialog</name>
    <message>
        <source>Site handover</source>
        <translation>现场交接单</translation>
    </message>
    <message>
        <source>One PDF for the customer to sign (every device of the site, failed and skipped ones included), with the same rows as CSV and XLSX.</source>
        <translation>生成一份供客户签字的 PDF（列出该现场的全部设备，包括失败和跳过的设备），并附带内容相同的 CSV 和 XLSX。</translation>
    </message>
    <message>
        <source>Team server (every installer)</source>
        <translation>团队服务器（所有安装人员）</translation>
    </message>
    <message>
        <source>This laptop</source>
        <translation>本机</translation>
    </message>
    <message>
        <source>Records:</source>
        <translation>记录来源：</translation>
    </message>
    <message>
        <source>Enterprise:</source>
        <translation>企业：</translation>
    </message>
    <message>
        <source>From:</source>
        <translation>开始日期：</translation>
    </message>
    <message>
        <source>To:</source>
        <translation>结束日期：</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Save package…</source>
        <translation>保存交接包…</translation>
    </message>
    <message>
        <source>Type the enterprise&apos;s corpid.</source>
        <translation>请输入企业的 corpid。</translation>
    </message>
    <message>
        <source>No board is bound to an enterprise yet.</source>
        <translation>还没有设备绑定到企业。</translation>
    </message>
    <message>
        <source>Save the handover package in</source>
        <translation>将交接包保存到</translation>
    </message>
    <message>
        <source>Saved {pdf}, {csv} and {xlsx}.</source>
        <translation>已保存 {pdf}、{csv} 和 {xlsx}。</translation>
    </message>
</context>
<context>
    <name>HistoryDialog</name>
    <message>
        <source>History</source>
        <translation>历史记录</translation>
    </message>
    <message>
        <source>Search SN, HW_ID, enterprise or installer</source>
        <translation>搜索 SN、HW_ID、企业或安装人员</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>导出 CSV…</translation>
    </message>
    <message>
        <source>Labels…</source>
        <translation>标签…</translation>
    </message>
    <message>
        <source>Labels for the selected boards (or all shown)</source>
        <translation>为选中的设备（或全部显示的设备）打印标签</translation>
    </message>
    <message>
        <source>Site handover…</source>
        <translation>现场交接…</translation>
    </message>
    <message>
        <source>SN</source>
        <translation>SN</translation>
    </message>
    <message>
        <source>HW_ID</source>
        <translation>HW_ID</translation>
    </message>
    <message>
        <source>Stage</source>
        <translation>阶段</translation>
    </message>
    <message>
        <source>Enterprise</source>
        <translation>企业</translation>
    </message>
    <message>
        <source>Installer</source>
        <translation>安装人员</translation>
    </message>
    <message>
        <source>Last change</source>
        <translation>最后更新</translation>
    </message>
    <message>
        <source>Team server</source>
        <translation>团队服务器</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>has it</source>
        <translation>已同步</translation>
    </message>
    <message>
        <source>waiting to be sent</source>
        <translation>等待发送</translation>
    </message>
    <message>
        <source>refused</source>
        <translation>被拒绝</translation>
    </message>
    <message numerus="yes">
        <source>%n board(s)</source>
        <translation>
            <numerusform>共 %n 台设备</numerusform>
        </translation>
    </message>
    <message>
        <source>Export history</source>
        <translation>导出历史记录</translation>
    </message>
    <message>
        <source>CSV (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message numerus="yes">
        <source>Exported %n board(s) to {path}</source>
        <translation>
            <numerusform>已将 %n 台设备导出到 {path}</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>LabelsDialog</name>
    <message>
        <source>Print labels</source>
        <translation>打印标签</translation>
    </message>
    <message>
        <source>Labels for the boards of {corp}.</source>
        <translation>{corp} 的设备标签。</translation>
    </message>
    <message numerus="yes">
        <source>Labels for %n board(s).</source>
        <translation>
            <numerusform>%n 台设备的标签。</numerusform>
        </translation>
    </message>
    <message>
        <source>This profile shows dynamic binding QR codes, which expire: labels carry the static code from registration instead, never a dynamic one.</source>
        <translation>此配置使用会过期的动态绑定二维码：标签上印的是注册时获得的静态二维码，绝不会是动态二维码。</translation>
    </message>
    <message>
        <source>A4 sheet (PDF)</source>
        <translation>A4 标签纸（PDF）</translation>
    </message>
    <message>
        <source>One label per page, roll printer (PDF)</source>
        <translation>每页一张标签，卷式打印机（PDF）</translation>
    </message>
    <message>
        <source>Zebra printer (ZPL)</source>
        <translation>斑马打印机（ZPL）</translation>
    </message>
    <message>
        <source>Layout:</source>
        <translation>版式：</translation>
    </message>
    <message>
        <source>Columns × rows:</source>
        <translation>列 × 行：</translation>
    </message>
    <message>
        <source>Margins:</source>
        <translation>页边距：</translation>
    </message>
    <message>
        <source>Gap between labels:</source>
        <translation>标签间距：</translation>
    </message>
    <message>
        <source>Label size:</source>
        <translation>标签尺寸：</translation>
    </message>
    <message>
        <source>optional, e.g. \\server\zebra</source>
        <translation>可选，例如 \\server\zebra</translation>
    </message>
    <message>
        <source>Also copy to printer share:</source>
        <translation>同时复制到打印机共享：</translation>
    </message>
    <message>
        <source>Save…</source>
        <translation>保存…</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Save labels</source>
        <translation>保存标签</translation>
    </message>
    <message>
        <source>ZPL (*.zpl)</source>
        <translation>ZPL (*.zpl)</translation>
    </message>
    <message>
        <source>PDF (*.pdf)</source>
        <translation>PDF 文件 (*.pdf)</translation>
    </message>
    <message numerus="yes">
        <source>Saved %n label(s) to {path}.</source>
        <translation>
            <numerusform>已将 %n 张标签保存到 {path}。</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>LocationBox</name>
    <message>
        <source>Location, e.g. 3F-301 front desk (type or scan)</source>
        <translation>位置，例如 3F-301 前台（输入或扫描）</translation>
    </message>
    <message>
        <source>Save location</source>
        <translation>保存位置</translation>
    </message>
    <message>
        <source>Print label…</source>
        <translation>打印标签…</translation>
    </message>
    <message>
        <source>Location:</source>
        <translation>位置：</translation>
    </message>
    <message>
        <source>Location saved: {location}</source>
        <translation>位置已保存：{location}</translation>
    </message>
    <message>
        <source>Location cleared.</source>
        <translation>位置已清除。</translation>
    </message>
</context>
<context>
    <name>LogPane</name>
    <message>
        <source>Log</source>
        <translation>日志</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>WeCom device installer</source>
        <translation>企业微信设备安装工具</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>开始</translation>
    </message>
    <message>
        <source>Connect</source>
        <translation>连接</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Write</source>
        <translation>写入</translation>
    </message>
    <message>
        <source>Network</source>
        <translation>网络</translation>
    </message>
    <message>
        <source>Bind</source>
        <translation>绑定</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Log</source>
        <translation>日志</translation>
    </message>
    <message>
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <source>Back to the port list</source>
        <translation>返回端口列表</translation>
    </message>
    <message>
        <source>Opening the local record…</source>
        <translation>正在打开本地记录…</translation>
    </message>
    <message>
        <source>Ready.</source>
        <translation>就绪。</translation>
    </message>
    <message>
        <source>Offline work</source>
        <translation>离线作业</translation>
    </message>
    <message>
        <source>How many credentials to take for a site without network?</source>
        <translation>为无网络的现场领取多少个凭据？</translation>
    </message>
    <message numerus="yes">
        <source>%n unused credential(s) given back.</source>
        <translation>
            <numerusform>已归还 %n 个未使用的凭据。</numerusform>
        </translation>
    </message>
    <message>
        <source>The new settings apply once the boards on the bench view are done.</source>
        <translation>新设置将在工作台视图中的设备全部完成后生效。</translation>
    </message>
    <message>
        <source>The local record is not open yet.</source>
        <translation>本地记录尚未打开。</translation>
    </message>
    <message>
        <source>This board is running on the bench view.</source>
        <translation>此设备正在工作台视图中配置。</translation>
    </message>
    <message>
        <source>SN {sn} is done.</source>
        <translation>SN {sn} 已完成。</translation>
    </message>
    <message>
        <source>The board was skipped; nothing was changed.</source>
        <translation>已跳过此设备，未做任何改动。</translation>
    </message>
    <message>
        <source>Stopped. The board&apos;s record is kept.</source>
        <translation>已停止。设备的记录已保留。</translation>
    </message>
    <message>
        <source>This step failed: {message}</source>
        <translation>此步骤失败：{message}</translation>
    </message>
    <message>
        <source>Retry resumes from where it stopped; nothing is taken twice.</source>
        <translation>点击“重试”将从中断处继续，不会重复占用 SN 或调用凭证。</translation>
    </message>
    <message>
        <source>No QR code to scan yet.</source>
        <translation>暂无可扫描的二维码。</translation>
    </message>
</context>
<context>
    <name>NetworkPage</name>
    <message>
        <source>The board&apos;s network</source>
        <translation>设备网络</translation>
    </message>
    <message>
        <source>The board reaches WeCom by itself over Wi-Fi.</source>
        <translation>设备通过 Wi-Fi 自行连接企业微信。</translation>
    </message>
    <message>
        <source>Wi-Fi</source>
        <translation>Wi-Fi</translation>
    </message>
    <message>
        <source>empty for an open network</source>
        <translation>开放网络请留空</translation>
    </message>
    <message>
        <source>Network name (SSID):</source>
        <translation>网络名称 (SSID)：</translation>
    </message>
    <message>
        <source>Password:</source>
        <translation>密码：</translation>
    </message>
    <message>
        <source>Keep the board&apos;s network</source>
        <translation>保留设备现有网络</translation>
    </message>
    <message>
        <source>Send to the board</source>
        <translation>发送到设备</translation>
    </message>
    <message>
        <source>Live state</source>
        <translation>实时状态</translation>
    </message>
    <message>
        <source>Network: not known yet</source>
        <translation>网络：尚未获取</translation>
    </message>
    <message>
        <source>WeCom: not known yet</source>
        <translation>企业微信：尚未获取</translation>
    </message>
    <message>
        <source>A Wi-Fi password has 8 to 63 characters.</source>
        <translation>Wi-Fi 密码应为 8 到 63 个字符。</translation>
    </message>
    <message>
        <source>Network: {state}</source>
        <translation>网络：{state}</translation>
    </message>
    <message>
        <source>WeCom: {state}</source>
        <translation>企业微信：{state}</translation>
    </message>
</context>
<context>
    <name>PartnerGroup</name>
    <message>
        <source>Partner service</source>
        <translation>合作伙伴服务</translation>
    </message>
    <message>
        <source>Partner URL:</source>
        <translation>合作伙伴服务地址：</translation>
    </message>
    <message>
        <source>Installer token:</source>
        <translation>安装人员令牌：</translation>
    </message>
</context>
<context>
    <name>PortList</name>
    <message>
        <source>Serial ports</source>
        <translation>串口</translation>
    </message>
    <message>
        <source>(simulated board)</source>
        <translation>（模拟设备）</translation>
    </message>
    <message>
        <source>(likely the board)</source>
        <translation>（可能是设备）</translation>
    </message>
</context>
<context>
    <name>ProviderGroup</name>
    <message>
        <source>WeCom provider</source>
        <translation>企业微信服务商</translation>
    </message>
    <message>
        <source>Direct (device talks to WeCom)</source>
        <translation>硬件直连（设备直接连接企业微信）</translation>
    </message>
    <message>
        <source>Cloud-to-cloud (through the partner service)</source>
        <translation>云对云（经由合作伙伴服务）</translation>
    </message>
    <message>
        <source>Each device has its own SecretNo</source>
        <translation>每台设备有自己的调用凭证（SecretNo）</translation>
    </message>
    <message>
        <source>Shared seed SecretNo, exchanged by the device (static QR only)</source>
        <translation>共用的初始调用凭证，由设备自行换取（仅静态二维码）</translation>
    </message>
    <message>
        <source>Seed: the model ships one initial SecretNo that each device exchanges for its own on first connection. The app then never knows the device&apos;s own secret, so it can only show the static QR code.</source>
        <translation>初始凭证：该型号出厂时共用一个初始调用凭证，每台设备首次连接时换取自己的凭证。本程序因此无法得知设备自己的凭证，只能显示静态二维码。</translation>
    </message>
    <message>
        <source>Mode:</source>
        <translation>接入方式：</translation>
    </message>
    <message>
        <source>WeCom API URL:</source>
        <translation>企业微信 API 地址：</translation>
    </message>
    <message>
        <source>Provider corpid:</source>
        <translation>服务商 corpid：</translation>
    </message>
    <message>
        <source>Provider secret:</source>
        <translation>服务商密钥 (provider_secret)：</translation>
    </message>
    <message>
        <source>Device model_id:</source>
        <translation>设备 model_id：</translation>
    </message>
    <message>
        <source>SecretNo:</source>
        <translation>调用凭证：</translation>
    </message>
</context>
<context>
    <name>ProvisioningGroup</name>
    <message>
        <source>Provisioning</source>
        <translation>设备配置</translation>
    </message>
    <message>
        <source>Register each board with WeCom</source>
        <translation>逐台向企业微信注册设备</translation>
    </message>
    <message>
        <source>Imported inventory</source>
        <translation>导入的库存</translation>
    </message>
    <message>
        <source>Partner service</source>
        <translation>合作伙伴服务</translation>
    </message>
    <message>
        <source>Static (printed once)</source>
        <translation>静态（只需打印一次）</translation>
    </message>
    <message>
        <source>Dynamic (renewed while shown)</source>
        <translation>动态（显示期间自动更新）</translation>
    </message>
    <message>
        <source> s</source>
        <translation> 秒</translation>
    </message>
    <message>
        <source>System language</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>Credential source:</source>
        <translation>凭证来源：</translation>
    </message>
    <message>
        <source>SN prefix:</source>
        <translation>SN 前缀：</translation>
    </message>
    <message>
        <source>QR code:</source>
        <translation>二维码：</translation>
    </message>
    <message>
        <source>Binding poll interval:</source>
        <translation>绑定查询间隔：</translation>
    </message>
    <message>
        <source>Language:</source>
        <translation>语言：</translation>
    </message>
    <message>
        <source>Installer name:</source>
        <translation>安装人员姓名：</translation>
    </message>
</context>
<context>
    <name>QrView</name>
    <message>
        <source>Binding QR code</source>
        <translation>绑定二维码</translation>
    </message>
    <message>
        <source>No QR code yet</source>
        <translation>暂无二维码</translation>
    </message>
</context>
<context>
    <name>RecordsGroup</name>
    <message>
        <source>Records</source>
        <translation>本地记录</translation>
    </message>
    <message>
        <source>none: the key is kept in the credential store</source>
        <translation>不使用：密钥保存在系统密钥库中</translation>
    </message>
    <message>
        <source>Choose…</source>
        <translation>选择…</translation>
    </message>
    <message>
        <source>Only for a computer without a credential store. The device secrets in the records are encrypted with this key: keep a copy of the file somewhere safe.</source>
        <translation>仅用于没有系统密钥库的电脑。本地记录中的设备密钥以此密钥加密：请将该文件备份到安全的地方。</translation>
    </message>
    <message>
        <source>Key file:</source>
        <translation>密钥文件：</translation>
    </message>
    <message>
        <source>Key file for the records</source>
        <translation>本地记录的密钥文件</translation>
    </message>
    <message>
        <source>Key files (*.key);;All files (*)</source>
        <translation>密钥文件 (*.key);;所有文件 (*)</translation>
    </message>
</context>
<context>
    <name>SaveStep</name>
    <message>
        <source>This computer has no font for Chinese text.</source>
        <translation>这台电脑没有中文字体。</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>正在保存…</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation>测试连接</translation>
    </message>
    <message>
        <source>Saved to {path}</source>
        <translation>已保存到 {path}</translation>
    </message>
    <message>
        <source>Enter the team server&apos;s URL first.</source>
        <translation>请先填写团队服务器的地址。</translation>
    </message>
    <message>
        <source>Signing in…</source>
        <translation>正在登录…</translation>
    </message>
    <message>
        <source>Testing…</source>
        <translation>正在测试…</translation>
    </message>
    <message>
        <source>Cannot save {path}: {reason}</source>
        <translation>无法保存 {path}：{reason}</translation>
    </message>
    <message>
        <source>The settings were saved; the secret is kept for this session only.</source>
        <translation>设置已保存；密钥仅在本次运行期间保留。</translation>
    </message>
</context>
<context>
    <name>SettingsGroup</name>
    <message>
        <source>saved — type to replace</source>
        <translation>已保存，输入新值即可替换</translation>
    </message>
    <message>
        <source>not set</source>
        <translation>未设置</translation>
    </message>
</context>
<context>
    <name>StartPage</name>
    <message>
        <source>Ready to install</source>
        <translation>准备安装</translation>
    </message>
    <message>
        <source>Check the profile below, then connect the first board.</source>
        <translation>请核对下方的当前设置，然后连接第一台设备。</translation>
    </message>
    <message>
        <source>Active profile</source>
        <translation>当前设置</translation>
    </message>
    <message>
        <source>Profile</source>
        <translation>配置方案</translation>
    </message>
    <message>
        <source>counting…</source>
        <translation>正在统计…</translation>
    </message>
    <message>
        <source>Profile:</source>
        <translation>配置方案：</translation>
    </message>
    <message>
        <source>Mode:</source>
        <translation>接入方式：</translation>
    </message>
    <message>
        <source>Device model:</source>
        <translation>设备型号：</translation>
    </message>
    <message>
        <source>Minimum firmware:</source>
        <translation>最低固件版本：</translation>
    </message>
    <message>
        <source>Credential source:</source>
        <translation>凭证来源：</translation>
    </message>
    <message>
        <source>Credentials left:</source>
        <translation>剩余凭证：</translation>
    </message>
    <message>
        <source>Installer:</source>
        <translation>安装人员：</translation>
    </message>
    <message>
        <source>Provider account</source>
        <translation>服务商账号</translation>
    </message>
    <message>
        <source>Not checked yet</source>
        <translation>尚未检查</translation>
    </message>
    <message>
        <source>Check again</source>
        <translation>重新检查</translation>
    </message>
    <message>
        <source>Offline work</source>
        <translation>离线作业</translation>
    </message>
    <message>
        <source>Take credentials for offline work…</source>
        <translation>领取离线作业凭据…</translation>
    </message>
    <message>
        <source>Return unused</source>
        <translation>归还未使用的</translation>
    </message>
    <message>
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <source>History…</source>
        <translation>历史记录…</translation>
    </message>
    <message>
        <source>Connect a board</source>
        <translation>连接设备</translation>
    </message>
    <message>
        <source>(default: the file&apos;s settings)</source>
        <translation>（默认：配置文件中的设置）</translation>
    </message>
    <message>
        <source>any</source>
        <translation>不限</translation>
    </message>
    <message>
        <source>Direct (device talks to WeCom)</source>
        <translation>硬件直连（设备直接连接企业微信）</translation>
    </message>
    <message>
        <source>Cloud-to-cloud</source>
        <translation>云对云</translation>
    </message>
    <message>
        <source>Register each board with WeCom</source>
        <translation>逐台向企业微信注册设备</translation>
    </message>
    <message>
        <source>Imported inventory</source>
        <translation>导入的库存</translation>
    </message>
    <message>
        <source>Partner service</source>
        <translation>合作伙伴服务</translation>
    </message>
    <message>
        <source>(not set — open Settings)</source>
        <translation>（未设置，请打开“设置”）</translation>
    </message>
    <message>
        <source>Team server {url}</source>
        <translation>团队服务器 {url}</translation>
    </message>
    <message>
        <source>Team server (or a lease when offline)</source>
        <translation>团队服务器（离线时使用租借凭据）</translation>
    </message>
    <message>
        <source>Demo mode: a simulated board and a local WeCom emulator stand in for real hardware and a real account. Nothing leaves this computer.</source>
        <translation>演示模式：由模拟设备和本地企业微信模拟服务代替真实硬件和真实账号，所有数据都不会离开这台电脑。</translation>
    </message>
    <message numerus="yes">
        <source>%n credential(s) held for offline work</source>
        <translation>
            <numerusform>本机持有 %n 个离线作业凭据</numerusform>
        </translation>
    </message>
    <message>
        <source>issued by the team server</source>
        <translation>由团队服务器签发</translation>
    </message>
    <message>
        <source>issued on demand</source>
        <translation>按需获取</translation>
    </message>
    <message numerus="yes">
        <source>%n credential(s) available</source>
        <translation>
            <numerusform>可用凭证 %n 个</numerusform>
        </translation>
    </message>
    <message>
        <source>Checking the provider account…</source>
        <translation>正在检查服务商账号…</translation>
    </message>
    <message>
        <source>The provider account works.</source>
        <translation>服务商账号可正常使用。</translation>
    </message>
    <message>
        <source>The provider account has a problem: see below and open Settings.</source>
        <translation>服务商账号有问题：请查看下方说明，并打开“设置”修改。</translation>
    </message>
</context>
<context>
    <name>TeamGroup</name>
    <message>
        <source>Team server</source>
        <translation>团队服务器</translation>
    </message>
    <message>
        <source>https://… (empty: no team server)</source>
        <translation>https://…（留空：不使用团队服务器）</translation>
    </message>
    <message>
        <source>Sign in</source>
        <translation>登录</translation>
    </message>
    <message>
        <source>Server URL:</source>
        <translation>服务器地址：</translation>
    </message>
    <message>
        <source>Installer token:</source>
        <translation>安装人员令牌：</translation>
    </message>
</context>
<context>
    <name>WifiBar</name>
    <message>
        <source>Site Wi-Fi for every board:</source>
        <translation>现场 Wi-Fi（用于所有设备）：</translation>
    </message>
    <message>
        <source>network name</source>
        <translation>网络名称</translation>
    </message>
    <message>
        <source>password (empty: open network)</source>
        <translation>密码（开放网络留空）</translation>
    </message>
    <message>
        <source>Use for every board</source>
        <translation>用于所有设备</translation>
    </message>
    <message>
        <source>Leave their network</source>
        <translation>不修改设备网络</translation>
    </message>
    <message>
        <source>Site Wi-Fi: asked once, when the first board needs it.</source>
        <translation>现场 Wi-Fi：在第一台设备需要时询问一次。</translation>
    </message>
    <message>
        <source>Wi-Fi: the boards keep their own network.</source>
        <translation>Wi-Fi：设备保留各自的网络设置。</translation>
    </message>
    <message>
        <source>Wi-Fi for every board: {ssid} (kept for this session only)</source>
        <translation>所有设备的 Wi-Fi：{ssid}（仅在本次会话中保留）</translation>
    </message>
</context>
<context>
    <name>WritePage</name>
    <message>
        <source>Writing the credential</source>
        <translation>正在写入调用凭证</translation>
    </message>
    <message>
        <source>Keep the board plugged in until the last step is done.</source>
        <translation>所有步骤完成前，请勿拔下设备。</translation>
    </message>
    <message>
        <source>%v of %m steps</source>
        <translation>已完成 %v/%m 步</translation>
    </message>
    <message>
        <source>Steps</source>
        <translation>步骤</translation>
    </message>
    <message>
        <source>Obtain an SN and its credential</source>
        <translation>获取 SN 及其调用凭证</translation>
    </message>
    <message>
        <source>Write them to the board</source>
        <translation>写入设备</translation>
    </message>
    <message>
        <source>Verify (the board proves it holds the credential)</source>
        <translation>校验（设备证明已持有该调用凭证）</translation>
    </message>
    <message>
        <source>Lock it into flash</source>
        <translation>锁定并写入闪存</translation>
    </message>
    <message>
        <source>already done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>SN {sn}</source>
        <translation>SN {sn}</translation>
    </message>
    <message>
        <source>(resumed from this computer&apos;s record)</source>
        <translation>（根据本机记录继续）</translation>
    </message>
</context>
<context>
    <name>app</name>
    <message>
        <source>WeCom device installer</source>
        <translation>企业微信设备安装工具</translation>
    </message>
</context>
<context>
    <name>argparse</name>
    <message>
        <source>show program&apos;s version number and exit</source>
        <translation>显示程序版本号并退出</translation>
    </message>
    <message>
        <source>usage: </source>
        <translation>用法： </translation>
    </message>
    <message>
        <source>positional arguments</source>
        <translation>位置参数</translation>
    </message>
    <message>
        <source>options</source>
        <translation>选项</translation>
    </message>
    <message>
        <source>subcommands</source>
        <translation>子命令</translation>
    </message>
    <message>
        <source>show this help message and exit</source>
        <translation>显示此帮助信息并退出</translation>
    </message>
    <message>
        <source>%(prog)s: error: %(message)s
</source>
        <translation>%(prog)s：错误：%(message)s
</translation>
    </message>
    <message>
        <source>argument %(argument_name)s: %(message)s</source>
        <translation>参数 %(argument_name)s：%(message)s</translation>
    </message>
    <message>
        <source>the following arguments are required: %s</source>
        <translation>缺少以下必需参数：%s</translation>
    </message>
    <message>
        <source>one of the arguments %s is required</source>
        <translation>必须提供参数 %s 中的一个</translation>
    </message>
    <message>
        <source>not allowed with argument %s</source>
        <translation>不能与参数 %s 同时使用</translation>
    </message>
    <message>
        <source>unrecognized arguments: %s</source>
        <translation>无法识别的参数：%s</translation>
    </message>
    <message>
        <source>invalid choice: %(value)r (choose from %(choices)s)</source>
        <translation>无效的选项值：%(value)r（可选值：%(choices)s）</translation>
    </message>
    <message>
        <source>invalid %(type)s value: %(value)r</source>
        <translation>无效的 %(type)s 值：%(value)r</translation>
    </message>
    <message>
        <source>expected one argument</source>
        <translation>需要一个参数值</translation>
    </message>
    <message>
        <source>expected at most one argument</source>
        <translation>最多只能有一个参数值</translation>
    </message>
    <message>
        <source>expected at least one argument</source>
        <translation>至少需要一个参数值</translation>
    </message>
    <message>
        <source>expected %s argument</source>
        <translation>需要 %s 个参数值</translation>
    </message>
    <message>
        <source>expected %s arguments</source>
        <translation>需要 %s 个参数值</translation>
    </message>
    <message>
        <source>ambiguous option: %(option)s could match %(matches)s</source>
        <translation>选项有歧义：%(option)s 可匹配 %(matches)s</translation>
    </message>
    <message>
        <source>ignored explicit argument %r</source>
        <translation>已忽略显式参数 %r</translation>
    </message>
    <message>
        <source>unexpected option string: %s</source>
        <translation>意外的选项：%s</translation>
    </message>
    <message>
        <source>unknown parser %(parser_name)r (choices: %(choices)s)</source>
        <translation>未知的子命令 %(parser_name)r（可选：%(choices)s）</translation>
    </message>
    <message>
        <source>can&apos;t open &apos;%(filename)s&apos;: %(error)s</source>
        <translation>无法打开 &apos;%(filename)s&apos;：%(error)s</translation>
    </message>
</context>
<context>
    <name>bench</name>
    <message>
        <source>Connecting</source>
        <translation>正在连接</translation>
    </message>
    <message>
        <source>Identifying the board</source>
        <translation>正在识别设备</translation>
    </message>
    <message>
        <source>Getting a credential</source>
        <translation>正在获取调用凭证</translation>
    </message>
    <message>
        <source>Writing the credential</source>
        <translation>正在写入调用凭证</translation>
    </message>
    <message>
        <source>Verifying</source>
        <translation>正在校验</translation>
    </message>
    <message>
        <source>Locking in</source>
        <translation>正在锁定</translation>
    </message>
    <message>
        <source>Wi-Fi</source>
        <translation>Wi-Fi</translation>
    </message>
    <message>
        <source>Binding code</source>
        <translation>绑定二维码</translation>
    </message>
    <message>
        <source>Waiting for the admin&apos;s scan</source>
        <translation>等待管理员扫码</translation>
    </message>
    <message>
        <source>Companion app</source>
        <translation>硬件应用</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>waiting</source>
        <translation>等待中</translation>
    </message>
    <message>
        <source>retrying</source>
        <translation>正在重试</translation>
    </message>
    <message>
        <source>skipped</source>
        <translation>已跳过</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
</context>
<context>
    <name>cli</name>
    <message>
        <source>a whole number from {low} to {high}, not {text}</source>
        <translation>须为 {low} 到 {high} 之间的整数，而不是 {text}</translation>
    </message>
    <message>
        <source>a number from {low} to {high}, not {text}</source>
        <translation>须为 {low} 到 {high} 之间的数，而不是 {text}</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>错误</translation>
    </message>
    <message>
        <source>check the WeCom corpid/provider secret and the partner service URL/token</source>
        <translation>检查企业微信 corpid / 服务商密钥，以及合作伙伴服务的地址 / 安装人员令牌</translation>
    </message>
    <message>
        <source>Validate the provider settings with harmless calls: a WeCom provider token and one list_device page, and one read from the partner service.</source>
        <translation>用不会改动任何数据的调用验证服务商设置：获取一次企业微信服务商令牌并读取一页 list_device，再从合作伙伴服务读取一次。</translation>
    </message>
    <message>
        <source>one JSON object instead of lines</source>
        <translation>输出一个 JSON 对象，而不是逐行文本</translation>
    </message>
    <message>
        <source>All checked settings work.</source>
        <translation>所检查的设置均正常。</translation>
    </message>
    <message>
        <source>a whole number from 1 to 16, not {text}</source>
        <translation>应为 1 到 16 之间的整数，而不是 {text}</translation>
    </message>
    <message>
        <source>not a number: {text}</source>
        <translation>不是数字：{text}</translation>
    </message>
    <message>
        <source>try the app with simulated boards and a local provider emulator</source>
        <translation>用模拟设备和本地服务商模拟服务试用本工具</translation>
    </message>
    <message>
        <source>Start the provider emulator and simulated boards (kept in DATA_DIR/demo), then open the wizard in demo mode, or run the whole flow in the terminal.</source>
        <translation>启动服务商模拟服务和模拟设备（数据保存在 DATA_DIR/demo），然后以演示模式打开向导，或在终端中运行完整流程。</translation>
    </message>
    <message>
        <source>run in the terminal, no window</source>
        <translation>在终端中运行，不打开窗口</translation>
    </message>
    <message>
        <source>how many simulated boards (1 to 16, default %(default)s)</source>
        <translation>模拟设备数量（1 到 16，默认 %(default)s）</translation>
    </message>
    <message>
        <source>the emulator scans each QR code S seconds after registration (default {headless} headless, {wizard} in the wizard; 0: never, use the emulator&apos;s operator page)</source>
        <translation>模拟服务在注册 S 秒后自动扫描每个二维码（默认：终端模式 {headless}，向导中 {wizard}；0 表示不自动扫码，请使用模拟服务的操作页面）</translation>
    </message>
    <message>
        <source>PDF files need Qt, and PySide6 is not installed.</source>
        <translation>生成 PDF 需要 Qt，但未安装 PySide6。</translation>
    </message>
    <message>
        <source>through the team server: a private PostgreSQL, the server, the emulator&apos;s callbacks (headless; needs the server extra and PostgreSQL)</source>
        <translation>经由团队服务器运行：私有 PostgreSQL、服务器、模拟服务的回调（仅终端模式；需要 server 扩展和 PostgreSQL）</translation>
    </message>
    <message>
        <source>Install the app with its Qt part, or print ZPL.</source>
        <translation>请安装带 Qt 的完整版本，或改用 ZPL 打印。</translation>
    </message>
    <message>
        <source>PySide6 is not installed</source>
        <translation>未安装 PySide6</translation>
    </message>
    <message>
        <source>there is no display (DISPLAY is not set)</source>
        <translation>没有可用的显示器（未设置 DISPLAY）</translation>
    </message>
    <message>
        <source>Qt cannot open the display (on Debian or Ubuntu the wizard needs libxcb-cursor0, libxkbcommon-x11-0, libxcb-icccm4 and libxcb-keysyms1)</source>
        <translation>Qt 无法打开显示（在 Debian 或 Ubuntu 上，向导需要 libxcb-cursor0、libxkbcommon-x11-0、libxcb-icccm4 和 libxcb-keysyms1）</translation>
    </message>
    <message>
        <source>The wizard cannot open: {reason}. Running the demo in the terminal instead.</source>
        <translation>无法打开向导：{reason}。改为在终端中运行演示。</translation>
    </message>
    <message>
        <source>The wizard did not start ({reason}). Running the demo in the terminal instead.</source>
        <translation>向导未能启动（{reason}）。改为在终端中运行演示。</translation>
    </message>
    <message>
        <source>Demo: provider emulator at {url} (operator page {page}); simulated boards on {ports}; demo data in {folder}.</source>
        <translation>演示：服务商模拟服务位于 {url}（操作页面 {page}）；模拟设备位于 {ports}；演示数据保存在 {folder}。</translation>
    </message>
    <message>
        <source>The emulator plays the enterprise admin: it scans after {s} s.</source>
        <translation>模拟服务将扮演企业管理员，在 {s} 秒后自动扫码。</translation>
    </message>
    <message>
        <source>list serial ports, likely boards first</source>
        <translation>列出串口，可能是设备的排在前面</translation>
    </message>
    <message>
        <source>List the serial ports, likely boards first (USB-serial bridges on the allowlist, then running simulators).</source>
        <translation>列出串口，可能是设备的排在前面（先列出允许列表中的 USB 转串口芯片，再列出正在运行的模拟设备）。</translation>
    </message>
    <message>
        <source>print a JSON list</source>
        <translation>输出 JSON 列表</translation>
    </message>
    <message>
        <source>talk to one board: info, status, identify, reboot, reset</source>
        <translation>操作单台设备：info、status、identify、reboot、reset</translation>
    </message>
    <message>
        <source>show the board&apos;s model, firmware, HW_ID, state and SN</source>
        <translation>显示设备的型号、固件、HW_ID、状态和 SN</translation>
    </message>
    <message>
        <source>show the board&apos;s network and WeCom state</source>
        <translation>显示设备的网络状态和企业微信状态</translation>
    </message>
    <message>
        <source>make the board blink and beep for 5 s</source>
        <translation>让设备闪灯并蜂鸣 5 秒</translation>
    </message>
    <message>
        <source>restart the board and show it once it is back</source>
        <translation>重启设备，并在其恢复后显示设备信息</translation>
    </message>
    <message>
        <source>erase the board&apos;s credential and Wi-Fi (state BLANK)</source>
        <translation>清除设备的调用凭证和 Wi-Fi 设置（状态变为 BLANK）</translation>
    </message>
    <message>
        <source>Erase the board&apos;s credential and Wi-Fi settings; it becomes BLANK and can be provisioned again. Asks the board for its HW_ID first and names it.</source>
        <translation>清除设备的调用凭证和 Wi-Fi 设置；设备状态变为 BLANK，可重新配置。执行前会先读取设备的 HW_ID 并显示是哪台设备。</translation>
    </message>
    <message>
        <source>really erase (required)</source>
        <translation>确认擦除（必填）</translation>
    </message>
    <message>
        <source>serial port or pyserial URL (/dev/ttyUSB0, COM3, socket://host:port)</source>
        <translation>串口或 pyserial URL（/dev/ttyUSB0、COM3、socket://host:port）</translation>
    </message>
    <message>
        <source>Board on {port}</source>
        <translation>{port} 上的设备</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>型号</translation>
    </message>
    <message>
        <source>Firmware</source>
        <translation>固件</translation>
    </message>
    <message>
        <source>HW ID</source>
        <translation>HW_ID</translation>
    </message>
    <message>
        <source>Protocol</source>
        <translation>协议</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>SN</source>
        <translation>SN</translation>
    </message>
    <message>
        <source>No serial ports found. Plug the board in.</source>
        <translation>未找到串口。请连接设备。</translation>
    </message>
    <message>
        <source>likely</source>
        <translation>可能是设备</translation>
    </message>
    <message>
        <source>simulated</source>
        <translation>模拟设备</translation>
    </message>
    <message>
        <source>Port</source>
        <translation>端口</translation>
    </message>
    <message>
        <source>Serial</source>
        <translation>序列号</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>描述</translation>
    </message>
    <message>
        <source>Network: {net}   WeCom: {wecom}</source>
        <translation>网络：{net}   企业微信：{wecom}</translation>
    </message>
    <message>
        <source>Bound to: {corp}</source>
        <translation>已绑定：{corp}</translation>
    </message>
    <message>
        <source>The board on {port} is blinking and beeping for 5 seconds.</source>
        <translation>{port} 上的设备正在闪灯并蜂鸣，持续 5 秒。</translation>
    </message>
    <message>
        <source>Restarting the board on {port}…</source>
        <translation>正在重启 {port} 上的设备…</translation>
    </message>
    <message>
        <source>The board is back.</source>
        <translation>设备已重启完成。</translation>
    </message>
    <message>
        <source>Refusing to erase without --yes: factory-reset deletes the board&apos;s SN, credential and Wi-Fi settings, and a board bound to an enterprise stops working until it is provisioned again. Run installer-app device info --port {port} to see which board it is, then add --yes.</source>
        <translation>未指定 --yes，不执行擦除：factory-reset 会删除设备的 SN、调用凭证和 Wi-Fi 设置，已绑定企业的设备在重新配置之前将无法使用。请先运行 installer-app device info --port {port} 确认是哪台设备，再加上 --yes。</translation>
    </message>
    <message>
        <source>Board {model} (HW ID {hw_id}, SN {sn}) on {port} was reset: its state is now {state}.</source>
        <translation>{port} 上的设备 {model}（HW_ID {hw_id}，SN {sn}）已恢复出厂设置，当前状态为 {state}。</translation>
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
        <translation>退出码：
  0  完成（所有设备）
  2  用法或配置错误
  3  设备问题（未找到、故障、型号不符，或持有非本机分配的调用凭证）
  4  服务商问题（企业微信或合作伙伴服务拒绝，或 SN 已在别处注册）
  5  等待绑定或硬件应用安装超时
  6  没有可用的调用凭证（库存已空）
  多台设备时：取最严重的一个，严重程度依次为 130、1、2、3、4、6、5</translation>
    </message>
    <message>
        <source>provision boards: credential, verify, lock, Wi-Fi, binding QR, binding watch</source>
        <translation>配置设备：调用凭证、校验、锁定、Wi-Fi、绑定二维码、绑定状态跟踪</translation>
    </message>
    <message>
        <source>Provision one or more boards end to end. The Wi-Fi password never goes on the command line: set {env} or type it at the hidden prompt.</source>
        <translation>完整配置一台或多台设备。Wi-Fi 密码不会出现在命令行中：请设置环境变量 {env}，或在隐藏输入的提示符处输入。</translation>
    </message>
    <message>
        <source>a board&apos;s port (repeat for several)</source>
        <translation>设备的端口（可重复指定多个）</translation>
    </message>
    <message>
        <source>every detected board</source>
        <translation>所有检测到的设备</translation>
    </message>
    <message>
        <source>join this Wi-Fi network</source>
        <translation>连接到此 Wi-Fi 网络</translation>
    </message>
    <message>
        <source>one JSON object per line on stdout</source>
        <translation>在标准输出上每行输出一个 JSON 对象</translation>
    </message>
    <message>
        <source>stop once the QR code is shown (not bound yet)</source>
        <translation>显示二维码后即停止（尚未绑定）</translation>
    </message>
    <message>
        <source>seconds to wait for the binding and the companion app ([binding] timeout_s)</source>
        <translation>等待绑定和硬件应用安装的秒数（[binding] timeout_s）</translation>
    </message>
    <message>
        <source>The Wi-Fi network name must be 1 to 32 bytes.</source>
        <translation>Wi-Fi 网络名称必须为 1 到 32 个字节。</translation>
    </message>
    <message>
        <source>The Wi-Fi password for {ssid} is needed, and there is no terminal.</source>
        <translation>需要 {ssid} 的 Wi-Fi 密码，但当前没有可供输入的终端。</translation>
    </message>
    <message>
        <source>Set the environment variable {env}.</source>
        <translation>请设置环境变量 {env}。</translation>
    </message>
    <message>
        <source>Wi-Fi password for {ssid} (empty for an open network): </source>
        <translation>{ssid} 的 Wi-Fi 密码（开放网络请留空）： </translation>
    </message>
    <message>
        <source>The Wi-Fi password must be empty (open network), 8 to 63 characters, or 64 hex digits.</source>
        <translation>Wi-Fi 密码必须为空（开放网络）、8 到 63 个字符，或 64 位十六进制数。</translation>
    </message>
    <message>
        <source>No board was found on any serial port.</source>
        <translation>所有串口上都未发现设备。</translation>
    </message>
    <message>
        <source>Plug the board in (check the cable), or name its port with --port.</source>
        <translation>请连接设备（并检查数据线），或用 --port 指定其端口。</translation>
    </message>
    <message>
        <source>Connect</source>
        <translation>连接</translation>
    </message>
    <message>
        <source>Board</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Credential</source>
        <translation>调用凭证</translation>
    </message>
    <message>
        <source>Write</source>
        <translation>写入</translation>
    </message>
    <message>
        <source>Verify</source>
        <translation>校验</translation>
    </message>
    <message>
        <source>Lock</source>
        <translation>锁定</translation>
    </message>
    <message>
        <source>Wi-Fi</source>
        <translation>Wi-Fi</translation>
    </message>
    <message>
        <source>QR code</source>
        <translation>二维码</translation>
    </message>
    <message>
        <source>Binding</source>
        <translation>绑定</translation>
    </message>
    <message>
        <source>Companion app</source>
        <translation>硬件应用</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>started</source>
        <translation>开始</translation>
    </message>
    <message>
        <source>in progress</source>
        <translation>进行中</translation>
    </message>
    <message>
        <source>waiting</source>
        <translation>等待中</translation>
    </message>
    <message>
        <source>retrying</source>
        <translation>重试中</translation>
    </message>
    <message>
        <source>ok</source>
        <translation>成功</translation>
    </message>
    <message>
        <source>skipped</source>
        <translation>已跳过</translation>
    </message>
    <message>
        <source>FAILED</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>Scan in WeCom to bind the board: {url}</source>
        <translation>请在企业微信中扫码绑定设备：{url}</translation>
    </message>
    <message>
        <source>Done: SN {sn} is bound to {corp}; companion app: {app}.</source>
        <translation>完成：SN {sn} 已绑定到 {corp}；硬件应用：{app}。</translation>
    </message>
    <message>
        <source>Done: SN {sn} is provisioned; not bound yet (--no-wait).</source>
        <translation>完成：SN {sn} 已配置，尚未绑定（--no-wait）。</translation>
    </message>
    <message>
        <source>Cannot scan? The enterprise admin can add the board by typing its SN:</source>
        <translation>无法扫码？企业管理员可以输入设备的 SN 来添加：</translation>
    </message>
    <message>
        <source>In the WeCom mobile app: {path}, then type the SN above.</source>
        <translation>在企业微信手机端：{path}，填写上方的 SN。</translation>
    </message>
    <message>
        <source>not checkable</source>
        <translation>无法检查</translation>
    </message>
    <message>
        <source>installed</source>
        <translation>已安装</translation>
    </message>
    <message>
        <source>not installed</source>
        <translation>未安装</translation>
    </message>
    <message>
        <source>--wifi-ssid does not apply to this configuration.</source>
        <translation>--wifi-ssid 不适用于当前配置。</translation>
    </message>
    <message>
        <source>serve a simulated board on a pseudo-terminal or a TCP port</source>
        <translation>在伪终端或 TCP 端口上运行模拟设备</translation>
    </message>
    <message>
        <source>Serve a simulated board that speaks the provisioning protocol. Prints the port to connect to on its first line, then runs until Ctrl-C or SIGTERM.</source>
        <translation>运行一台支持配置协议的模拟设备。第一行输出要连接的端口，然后一直运行，直到按 Ctrl-C 或收到 SIGTERM。</translation>
    </message>
    <message>
        <source>on a pseudo-terminal (Linux, macOS)</source>
        <translation>使用伪终端（Linux、macOS）</translation>
    </message>
    <message>
        <source>on socket://127.0.0.1:PORT (0: any free port)</source>
        <translation>使用 socket://127.0.0.1:PORT（0 表示任意空闲端口）</translation>
    </message>
    <message>
        <source>the board&apos;s flash (kept across runs); default: none</source>
        <translation>设备的闪存文件（多次运行之间保留）；默认：不使用</translation>
    </message>
    <message>
        <source>seconds before each answer</source>
        <translation>每次应答前延迟的秒数</translation>
    </message>
    <message>
        <source>the board&apos;s model</source>
        <translation>设备型号</translation>
    </message>
    <message>
        <source>the board&apos;s HW_ID, 6..16 bytes in hex</source>
        <translation>设备的 HW_ID，6 到 16 字节的十六进制数</translation>
    </message>
    <message>
        <source>a board without Wi-Fi (online by ethernet)</source>
        <translation>不带 Wi-Fi 的设备（通过以太网联网）</translation>
    </message>
    <message>
        <source>log lines at random times</source>
        <translation>在随机时刻输出日志行</translation>
    </message>
    <message>
        <source>share of requests ignored</source>
        <translation>被忽略的请求比例</translation>
    </message>
    <message>
        <source>share of answers sent with a bad CRC</source>
        <translation>CRC 错误的应答比例</translation>
    </message>
    <message>
        <source>the first COMMIT fails with FLASH_FAIL</source>
        <translation>第一次 COMMIT 以 FLASH_FAIL 失败</translation>
    </message>
    <message>
        <source>answer the first N requests BUSY</source>
        <translation>对前 N 个请求应答 BUSY</translation>
    </message>
    <message>
        <source>the port vanishes in the middle of the first CMD (e.g. COMMIT), then comes back</source>
        <translation>在第一次执行 CMD（例如 COMMIT）的过程中端口消失，随后重新出现</translation>
    </message>
    <message>
        <source>the provider emulator to ask whether the board is bound</source>
        <translation>用于查询设备是否已绑定的服务商模拟服务</translation>
    </message>
    <message>
        <source>makes noise and random faults reproducible</source>
        <translation>使干扰日志和随机故障可以复现</translation>
    </message>
    <message>
        <source>The simulator cannot start with these options: {why}.</source>
        <translation>模拟设备无法以这些选项启动：{why}。</translation>
    </message>
    <message>
        <source>See installer-app simulate-device --help.</source>
        <translation>请查看 installer-app simulate-device --help。</translation>
    </message>
    <message>
        <source>Simulated {model} (HW_ID {hw_id}) is waiting on {url}. Stop it with Ctrl-C.</source>
        <translation>模拟设备 {model}（HW_ID {hw_id}）正在 {url} 上等待连接。按 Ctrl-C 停止。</translation>
    </message>
    <message>
        <source>Simulated board stopped.</source>
        <translation>模拟设备已停止。</translation>
    </message>
    <message>
        <source>The simulator cannot open its port: {why}.</source>
        <translation>模拟设备无法打开端口：{why}。</translation>
    </message>
    <message>
        <source>On Windows use --tcp; with --tcp choose a free port (0: any).</source>
        <translation>在 Windows 上请使用 --tcp；使用 --tcp 时请选择一个空闲端口（0 表示任意端口）。</translation>
    </message>
    <message>
        <source>import and count pre-registered credentials (the provider admin&apos;s export)</source>
        <translation>导入并统计预先注册的调用凭证（服务商管理后台导出的文件）</translation>
    </message>
    <message>
        <source>import a CSV/TSV/.xlsx export; all or nothing (exit 2 when any row is rejected)</source>
        <translation>导入 CSV/TSV/.xlsx 导出文件；要么全部导入，要么都不导入（有任何一行不符合要求时退出码为 2）</translation>
    </message>
    <message>
        <source>the export file: CSV, TSV or .xlsx</source>
        <translation>导出文件：CSV、TSV 或 .xlsx</translation>
    </message>
    <message>
        <source>print one JSON object</source>
        <translation>输出一个 JSON 对象</translation>
    </message>
    <message>
        <source>how many credentials are free</source>
        <translation>统计未使用的调用凭证数量</translation>
    </message>
    <message>
        <source>count only this model</source>
        <translation>只统计此型号</translation>
    </message>
    <message>
        <source>the boards provisioned on this computer</source>
        <translation>列出在这台电脑上配置过的设备</translation>
    </message>
    <message>
        <source>one JSON object per board and line</source>
        <translation>每台设备输出一行 JSON 对象</translation>
    </message>
    <message>
        <source>write a CSV file for Excel</source>
        <translation>写入可用 Excel 打开的 CSV 文件</translation>
    </message>
    <message>
        <source>part of an SN, HW_ID, corp or name</source>
        <translation>SN、HW_ID、企业或姓名的一部分</translation>
    </message>
    <message>
        <source>at most N boards</source>
        <translation>最多 N 台设备</translation>
    </message>
    <message>
        <source>on the team server</source>
        <translation>已同步到团队服务器</translation>
    </message>
    <message>
        <source>waiting to be sent</source>
        <translation>等待发送</translation>
    </message>
    <message>
        <source>refused by the team server</source>
        <translation>被团队服务器拒绝</translation>
    </message>
    <message>
        <source>the CSV file name must not be empty</source>
        <translation>CSV 文件名不能为空</translation>
    </message>
    <message>
        <source>not a whole number of at least 1: {text}</source>
        <translation>不是不小于 1 的整数：{text}</translation>
    </message>
    <message>
        <source>Imported {imported} credentials from {file}; {duplicates} were already in the store.</source>
        <translation>已从 {file} 导入 {imported} 个调用凭证；另有 {duplicates} 个已在本地数据库中。</translation>
    </message>
    <message>
        <source>Nothing was imported from {file}: {count} rows are rejected.</source>
        <translation>未从 {file} 导入任何内容：有 {count} 行不符合要求。</translation>
    </message>
    <message>
        <source>The team server is not part of this installation: pip install &apos;installer-app[server]&apos;.</source>
        <translation>此安装不包含团队服务器：请执行 pip install &apos;installer-app[server]&apos;。</translation>
    </message>
    <message>
        <source>a whole number from 1 to 64, not {text}</source>
        <translation>应为 1 到 64 的整数，而不是 {text}</translation>
    </message>
    <message>
        <source>a port from 0 to 65535, not {text}</source>
        <translation>应为 0 到 65535 的端口号，而不是 {text}</translation>
    </message>
    <message>
        <source>postgresql://user:pass@host:port/db (else INSTALLER_DATABASE_URL, else [server] database_url)</source>
        <translation>postgresql://user:pass@host:port/db（未指定时依次使用 INSTALLER_DATABASE_URL、[server] database_url）</translation>
    </message>
    <message>
        <source>run the team server (the partner service)</source>
        <translation>运行团队服务器（合作伙伴服务）</translation>
    </message>
    <message>
        <source>address to listen on</source>
        <translation>监听地址</translation>
    </message>
    <message>
        <source>port (0: any free one)</source>
        <translation>端口（0：任选一个空闲端口）</translation>
    </message>
    <message>
        <source>worker processes sharing the socket</source>
        <translation>共享监听端口的工作进程数</translation>
    </message>
    <message>
        <source>manage the team server&apos;s database and installers</source>
        <translation>管理团队服务器的数据库和安装人员</translation>
    </message>
    <message>
        <source>create or update the schema</source>
        <translation>创建或升级数据库结构</translation>
    </message>
    <message>
        <source>create an installer token (shown once)</source>
        <translation>创建安装人员令牌（仅显示一次）</translation>
    </message>
    <message>
        <source>one JSON object</source>
        <translation>输出一个 JSON 对象</translation>
    </message>
    <message>
        <source>revoke an installer&apos;s token at once</source>
        <translation>立即吊销安装人员的令牌</translation>
    </message>
    <message>
        <source>list installers and admins</source>
        <translation>列出安装人员和管理员</translation>
    </message>
    <message>
        <source>one JSON object per line</source>
        <translation>每行输出一个 JSON 对象</translation>
    </message>
    <message>
        <source>add the provider admin&apos;s export to the pool</source>
        <translation>将服务商管理后台导出的文件加入凭证池</translation>
    </message>
    <message>
        <source>model of rows that name none</source>
        <translation>未注明型号的行所用的型号</translation>
    </message>
    <message>
        <source>write every device as CSV (no secrets)</source>
        <translation>将所有设备导出为 CSV（不含密钥）</translation>
    </message>
    <message>
        <source>file (default: standard output)</source>
        <translation>文件（默认：标准输出）</translation>
    </message>
    <message>
        <source>Schema up to date ({n} migrations applied).</source>
        <translation>数据库结构已是最新（本次应用了 {n} 个迁移）。</translation>
    </message>
    <message>
        <source>Cannot listen on {host}:{port}: {reason}</source>
        <translation>无法在 {host}:{port} 上监听：{reason}</translation>
    </message>
    <message>
        <source>Installer {name} ({role}) added. Its token, shown only now:</source>
        <translation>已添加安装人员 {name}（{role}）。其令牌仅在此显示一次：</translation>
    </message>
    <message>
        <source>Installer {name} revoked.</source>
        <translation>已吊销安装人员 {name}。</translation>
    </message>
    <message>
        <source>Added {added} SNs to the pool; {dup} were there already; {bad} rows rejected.</source>
        <translation>已向凭证池添加 {added} 个 SN；{dup} 个已存在；{bad} 行被拒绝。</translation>
    </message>
    <message>
        <source>  row {row}: {reason}</source>
        <translation>  第 {row} 行：{reason}</translation>
    </message>
    <message>
        <source>Team demo: team server at {server} on a private PostgreSQL; provider emulator at {url} (it plays WeCom and pushes the companion app&apos;s callbacks); simulated boards on {ports}.</source>
        <translation>团队演示：团队服务器位于 {server}，使用私有 PostgreSQL；服务商模拟服务位于 {url}（扮演企业微信并推送硬件应用的回调）；模拟设备位于 {ports}。</translation>
    </message>
    <message>
        <source>Correct or remove these rows, then import the whole file again.</source>
        <translation>请修正或删除这些行，然后重新导入整个文件。</translation>
    </message>
    <message>
        <source>Inventory: {total} credentials, {free} free, {assigned} given to boards.</source>
        <translation>库存：共 {total} 个调用凭证，{free} 个未使用，{assigned} 个已分配给设备。</translation>
    </message>
    <message>
        <source>Wrote {count} boards to {file}.</source>
        <translation>已将 {count} 台设备写入 {file}。</translation>
    </message>
    <message>
        <source>No boards in the history yet.</source>
        <translation>历史记录中还没有设备。</translation>
    </message>
    <message>
        <source>the data folder must not be empty</source>
        <translation>数据文件夹不能为空</translation>
    </message>
    <message>
        <source>TOML settings file</source>
        <translation>TOML 设置文件</translation>
    </message>
    <message>
        <source>where the store and logs are kept</source>
        <translation>本地数据库和日志的存放目录</translation>
    </message>
    <message>
        <source>language of messages and of this help</source>
        <translation>提示信息和本帮助的语言</translation>
    </message>
    <message>
        <source>log to stderr as well</source>
        <translation>同时将日志输出到标准错误 (stderr)</translation>
    </message>
    <message>
        <source>Provision WeCom smart-hardware devices: serial credentials, binding QR, binding watch. With no subcommand the wizard opens.</source>
        <translation>配置企业微信智慧硬件设备：通过串口写入调用凭证、显示绑定二维码、跟踪绑定状态。不带子命令时打开向导。</translation>
    </message>
    <message>
        <source>run a local WeCom provider API + partner service emulator (for demos and tests)</source>
        <translation>运行本地的企业微信服务商接口和合作伙伴服务模拟服务（用于演示和测试）</translation>
    </message>
    <message>
        <source>Serve the WeCom provider API and the partner service on loopback, with an operator page to bind devices to a test enterprise. Runs until Ctrl-C.</source>
        <translation>在本机回环地址上提供企业微信服务商接口和合作伙伴服务，并提供操作页面，可将设备绑定到测试企业。按 Ctrl-C 停止运行。</translation>
    </message>
    <message>
        <source>address to listen on (loopback)</source>
        <translation>监听地址（本机回环地址）</translation>
    </message>
    <message>
        <source>port (default %(default)s; 0 = any)</source>
        <translation>端口（默认 %(default)s；0 表示任意端口）</translation>
    </message>
    <message>
        <source>state file (default: {file} in the data directory)</source>
        <translation>状态文件（默认：数据目录中的 {file}）</translation>
    </message>
    <message>
        <source>keep state in memory only</source>
        <translation>状态只保存在内存中</translation>
    </message>
    <message>
        <source>seconds from a binding to the companion app&apos;s install (default %(default)g)</source>
        <translation>从绑定到硬件应用安装的秒数（默认 %(default)g）</translation>
    </message>
    <message>
        <source>bind every device automatically S seconds after it is registered or first polled</source>
        <translation>每台设备在注册或首次查询 S 秒后自动绑定</translation>
    </message>
    <message>
        <source>provider token lifetime in seconds (default %(default)g)</source>
        <translation>服务商令牌的有效期（秒，默认 %(default)g）</translation>
    </message>
    <message>
        <source>answer binding lookups with the enterprise&apos;s plain corpid or the provider-level open corpid a third-party app sees (default %(default)s)</source>
        <translation>绑定查询时用企业的明文 corpid，或第三方应用看到的服务商级加密 corpid（open corpid）回答（默认 %(default)s）</translation>
    </message>
    <message>
        <source>Warning: this computer has no font for Chinese, so Chinese text in the PDF shows as empty boxes. Install one (on Debian or Ubuntu: apt install fonts-noto-cjk).</source>
        <translation>警告：这台电脑没有中文字体，PDF 中的中文会显示为空白方框。请安装中文字体（Debian 或 Ubuntu：apt install fonts-noto-cjk）。</translation>
    </message>
    <message>
        <source>not a size in mm like 50x30: {text}</source>
        <translation>不是以毫米为单位的尺寸（例如 50x30）：{text}</translation>
    </message>
    <message>
        <source>not a date like 2026-12-01: {text}</source>
        <translation>不是日期（例如 2026-12-01）：{text}</translation>
    </message>
    <message>
        <source>print device labels: SN, HW_ID, model, static QR code</source>
        <translation>打印设备标签：SN、HW_ID、型号、静态二维码</translation>
    </message>
    <message>
        <source>a board&apos;s SN (repeat for more)</source>
        <translation>设备的 SN（可重复指定多个）</translation>
    </message>
    <message>
        <source>every board bound to this enterprise</source>
        <translation>绑定到该企业的所有设备</translation>
    </message>
    <message>
        <source>every board provisioned today</source>
        <translation>今天配置的所有设备</translation>
    </message>
    <message>
        <source>A4 sheet (PDF), one label per page (PDF), or ZPL</source>
        <translation>A4 标签纸（PDF）、每页一张标签（PDF）或 ZPL</translation>
    </message>
    <message>
        <source>labels per sheet, columns x rows (default 3x8)</source>
        <translation>每张纸的标签数，列 x 行（默认 3x8）</translation>
    </message>
    <message>
        <source>sheet margin on every side, in mm</source>
        <translation>标签纸四边的页边距（毫米）</translation>
    </message>
    <message>
        <source>gap between labels, in mm</source>
        <translation>标签之间的间距（毫米）</translation>
    </message>
    <message>
        <source>roll or ZPL label size in mm (default 50x30)</source>
        <translation>卷式或 ZPL 标签尺寸（毫米，默认 50x30）</translation>
    </message>
    <message>
        <source>also copy the ZPL to this printer share or device</source>
        <translation>同时将 ZPL 复制到此打印机共享或设备</translation>
    </message>
    <message>
        <source>the file to write</source>
        <translation>要写入的文件</translation>
    </message>
    <message>
        <source>the site handover: PDF report, CSV and XLSX of one enterprise</source>
        <translation>现场交接：某企业的 PDF 报告、CSV 和 XLSX</translation>
    </message>
    <message>
        <source>the enterprise (corpid)</source>
        <translation>企业（corpid）</translation>
    </message>
    <message>
        <source>first day (YYYY-MM-DD)</source>
        <translation>开始日期（YYYY-MM-DD）</translation>
    </message>
    <message>
        <source>last day (default today)</source>
        <translation>结束日期（默认今天）</translation>
    </message>
    <message>
        <source>the folder to write to</source>
        <translation>要写入的文件夹</translation>
    </message>
    <message>
        <source>team mode: this laptop&apos;s records only, not the team server&apos;s</source>
        <translation>团队模式：只用本机的记录，不用团队服务器的记录</translation>
    </message>
    <message>
        <source>SNs {sns}</source>
        <translation>SN {sns}</translation>
    </message>
    <message>
        <source>no board is bound to {corp}</source>
        <translation>没有设备绑定到 {corp}</translation>
    </message>
    <message>
        <source>no board was provisioned today</source>
        <translation>今天没有配置任何设备</translation>
    </message>
    <message>
        <source>No static QR code in the history for: {sns}.</source>
        <translation>历史记录中没有这些设备的静态二维码：{sns}。</translation>
    </message>
    <message>
        <source>Wrote {count} labels to {file}.</source>
        <translation>已将 {count} 张标签写入 {file}。</translation>
    </message>
    <message>
        <source>Wrote the handover of {corp} ({count} devices): {files}.</source>
        <translation>已写出 {corp} 的交接资料（{count} 台设备）：{files}。</translation>
    </message>
    <message>
        <source>team mode: credentials taken from the team server for offline sites</source>
        <translation>团队模式：为离线现场从团队服务器领取的凭据</translation>
    </message>
    <message>
        <source>take N credentials for offline work (1 to 200)</source>
        <translation>领取 N 个离线作业凭据（1 到 200）</translation>
    </message>
    <message>
        <source>give the unused leased credentials back</source>
        <translation>归还未使用的租借凭据</translation>
    </message>
    <message>
        <source>the leases this laptop holds</source>
        <translation>本机持有的租借</translation>
    </message>
    <message>
        <source>team mode: send the records waiting for the team server now</source>
        <translation>团队模式：立即发送等待同步到团队服务器的记录</translation>
    </message>
    <message>
        <source>Team mode is not configured: [team] url is empty.</source>
        <translation>未配置团队模式：[team] url 为空。</translation>
    </message>
    <message>
        <source>Set [team] url to the team server&apos;s address (docs/team-mode.md).</source>
        <translation>将 [team] url 设为团队服务器的地址（见 docs/team-mode.md）。</translation>
    </message>
    <message>
        <source>Took {count} credentials for offline work (lease {lease}, until {until}); {held} are held on this laptop.</source>
        <translation>已领取 {count} 个离线作业凭据（租借 {lease}，有效期至 {until}）；本机共持有 {held} 个。</translation>
    </message>
    <message>
        <source>Gave {count} unused credentials back to the team server.</source>
        <translation>已向团队服务器归还 {count} 个未使用的凭据。</translation>
    </message>
    <message>
        <source>This laptop holds no lease.</source>
        <translation>本机没有持有任何租借。</translation>
    </message>
    <message>
        <source>returned</source>
        <translation>已归还</translation>
    </message>
    <message>
        <source>until {until}</source>
        <translation>有效期至 {until}</translation>
    </message>
    <message>
        <source>{lease}  {model}  {unused} unused, {used} used  ({state})</source>
        <translation>{lease}  {model}  未使用 {unused} 个，已使用 {used} 个（{state}）</translation>
    </message>
    <message>
        <source>Sent {sent} records to the team server ({duplicates} it had already); {left} left to send.</source>
        <translation>已向团队服务器发送 {sent} 条记录（其中 {duplicates} 条服务器已有）；还剩 {left} 条待发送。</translation>
    </message>
    <message>
        <source>Refused by the team server: {step} of SN {sn} ({reason}); the record stays on this laptop.</source>
        <translation>被团队服务器拒绝：SN {sn} 的 {step}（{reason}）；记录保留在本机。</translation>
    </message>
</context>
<context>
    <name>config</name>
    <message>
        <source>Setting {key} in {file}: {problem}</source>
        <translation>{file} 中的设置项 {key}：{problem}</translation>
    </message>
    <message>
        <source>Correct the file, or remove the key to use the default.</source>
        <translation>请修改该文件，或删除此设置项以使用默认值。</translation>
    </message>
    <message>
        <source>must be at most {limit} letters A-Z, a-z and digits, found {found!r}</source>
        <translation>只能是最多 {limit} 个字母 A-Z、a-z 和数字，实际为 {found!r}</translation>
    </message>
    <message>
        <source>expected {kind}, found {found!r}</source>
        <translation>应为 {kind}，实际为 {found!r}</translation>
    </message>
    <message>
        <source>must be one of {choices}</source>
        <translation>必须是以下之一：{choices}</translation>
    </message>
    <message>
        <source>unknown section</source>
        <translation>未知的配置节</translation>
    </message>
    <message>
        <source>unknown key (secrets go to the credential store or the environment)</source>
        <translation>未知的设置项（密钥请保存在系统密钥库或环境变量中）</translation>
    </message>
    <message>
        <source>unknown key</source>
        <translation>未知的设置项</translation>
    </message>
    <message>
        <source>must be a finite number, not {value}</source>
        <translation>必须是有限的数，而不是 {value}</translation>
    </message>
    <message>
        <source>must be from {low} to {high}, not {value}</source>
        <translation>必须在 {low} 到 {high} 之间，而不是 {value}</translation>
    </message>
    <message>
        <source>a profile is a table of settings</source>
        <translation>配置方案必须是一个设置表</translation>
    </message>
    <message>
        <source>no [profiles.{name}] table</source>
        <translation>没有 [profiles.{name}] 表</translation>
    </message>
    <message>
        <source>a dynamic QR code is signed with the device&apos;s own SecretNo, which the app does not know with [provider] secret_mode = &quot;seed&quot;: use qr = &quot;static&quot;</source>
        <translation>动态二维码要用设备自己的调用凭证签名，而 [provider] secret_mode = &quot;seed&quot; 时本程序不知道该凭证：请使用 qr = &quot;static&quot;</translation>
    </message>
    <message>
        <source>The configuration file {file} does not exist.</source>
        <translation>配置文件 {file} 不存在。</translation>
    </message>
    <message>
        <source>Cannot read {file}: {reason}</source>
        <translation>无法读取 {file}：{reason}</translation>
    </message>
    <message>
        <source>{file} is not valid TOML: {reason}</source>
        <translation>{file} 不是有效的 TOML 文件：{reason}</translation>
    </message>
    <message>
        <source>This computer has no usable credential store ({reason}).</source>
        <translation>这台电脑没有可用的系统密钥库（{reason}）。</translation>
    </message>
    <message>
        <source>Set {env} in the environment instead.</source>
        <translation>请改为设置环境变量 {env}。</translation>
    </message>
    <message>
        <source>it contains spaces or other invisible text</source>
        <translation>其中含有空格或其他不可见字符</translation>
    </message>
    <message>
        <source>it is not a valid URL</source>
        <translation>这不是有效的网址</translation>
    </message>
    <message>
        <source>it must start with https://</source>
        <translation>必须以 https:// 开头</translation>
    </message>
    <message>
        <source>it names no host</source>
        <translation>没有指定主机</translation>
    </message>
    <message>
        <source>it must not carry a user name or password</source>
        <translation>不得包含用户名或密码</translation>
    </message>
    <message>
        <source>it must not have a query (?) or fragment (#)</source>
        <translation>不得包含查询（?）或片段（#）</translation>
    </message>
    <message>
        <source>http:// would send the provider secret and the installer token in clear: use https:// (http:// only for 127.0.0.1, ::1 or localhost)</source>
        <translation>http:// 会以明文发送服务商密钥和安装人员令牌：请使用 https://（http:// 仅限 127.0.0.1、::1 或 localhost）</translation>
    </message>
</context>
<context>
    <name>device</name>
    <message>
        <source>The device sent a malformed answer to {command}: {problem}.</source>
        <translation>设备对 {command} 的应答格式有误：{problem}。</translation>
    </message>
    <message>
        <source>Check that the port belongs to a supported board and that its firmware is up to date.</source>
        <translation>请确认该端口连接的是受支持的设备，且设备固件为最新版本。</translation>
    </message>
    <message>
        <source>the device reported error {code}</source>
        <translation>设备报告错误 {code}</translation>
    </message>
    <message>
        <source>The device refused {command}: {what} ({detail}).</source>
        <translation>设备拒绝了 {command}：{what}（{detail}）。</translation>
    </message>
    <message>
        <source>The device refused {command}: {what}.</source>
        <translation>设备拒绝了 {command}：{what}。</translation>
    </message>
    <message>
        <source>it could not read the request</source>
        <translation>设备无法解析该请求</translation>
    </message>
    <message>
        <source>Try again; if it keeps happening, update the app.</source>
        <translation>请重试；如果问题反复出现，请更新本工具。</translation>
    </message>
    <message>
        <source>its firmware does not know this command</source>
        <translation>设备固件不支持此命令</translation>
    </message>
    <message>
        <source>Update the board&apos;s firmware.</source>
        <translation>请升级设备固件。</translation>
    </message>
    <message>
        <source>a value was missing, too long or not allowed</source>
        <translation>某个字段缺失、过长或取值不允许</translation>
    </message>
    <message>
        <source>Check the SN, the credential or the confirmation sent.</source>
        <translation>请检查发送的 SN、调用凭证或确认信息。</translation>
    </message>
    <message>
        <source>it is already provisioned with another credential</source>
        <translation>设备已写入另一个调用凭证</translation>
    </message>
    <message>
        <source>This board belongs to another SN. Use installer-app device factory-reset only if you are sure it must be provisioned again.</source>
        <translation>此设备已属于另一个 SN。只有在确认需要重新配置时，才可使用 installer-app device factory-reset。</translation>
    </message>
    <message>
        <source>no credential has been written to it</source>
        <translation>设备中尚未写入调用凭证</translation>
    </message>
    <message>
        <source>Write the credential first, then try again.</source>
        <translation>请先写入调用凭证，然后重试。</translation>
    </message>
    <message>
        <source>writing its flash failed; nothing was stored</source>
        <translation>写入闪存失败，未保存任何内容</translation>
    </message>
    <message>
        <source>Try again; if it fails again the board is faulty: set it aside.</source>
        <translation>请重试；如果再次失败，说明设备有故障，请将其放到一边。</translation>
    </message>
    <message>
        <source>it stayed busy</source>
        <translation>设备持续忙碌</translation>
    </message>
    <message>
        <source>Wait a few seconds and try again.</source>
        <translation>请等待几秒后重试。</translation>
    </message>
    <message>
        <source>No answer from the device on {port} to {command} after {tries} tries.</source>
        <translation>{port} 上的设备对 {command} 无应答（已尝试 {tries} 次）。</translation>
    </message>
    <message>
        <source>Check the cable and the power, and that this is the right port.</source>
        <translation>请检查数据线和电源，并确认选择了正确的端口。</translation>
    </message>
    <message>
        <source>The serial port {port} does not exist.</source>
        <translation>串口 {port} 不存在。</translation>
    </message>
    <message>
        <source>Plug the board in, then run installer-app ports to see the ports there are.</source>
        <translation>请连接设备，然后运行 installer-app ports 查看现有端口。</translation>
    </message>
    <message>
        <source>The serial port {port} is in use by {holders}.</source>
        <translation>串口 {port} 正被 {holders} 占用。</translation>
    </message>
    <message>
        <source>The serial port {port} is in use by another program.</source>
        <translation>串口 {port} 正被其他程序占用。</translation>
    </message>
    <message>
        <source>Close the other program (e.g. a serial monitor), then try again.</source>
        <translation>请关闭占用该端口的程序（例如串口监视器），然后重试。</translation>
    </message>
    <message>
        <source>Add your user to the dialout group: sudo usermod -aG dialout $USER, then log out and in again.</source>
        <translation>请将当前用户加入 dialout 组：执行 sudo usermod -aG dialout $USER，然后注销并重新登录。</translation>
    </message>
    <message>
        <source>Close any other program using the port, or check the port&apos;s permissions.</source>
        <translation>请关闭其他占用该端口的程序，或检查端口权限。</translation>
    </message>
    <message>
        <source>Permission denied opening the serial port {port}.</source>
        <translation>没有权限打开串口 {port}。</translation>
    </message>
    <message>
        <source>The device on {port} was disconnected.</source>
        <translation>{port} 上的设备已断开连接。</translation>
    </message>
    <message>
        <source>Check that the cable is plugged in firmly, then try again.</source>
        <translation>请确认数据线已插牢，然后重试。</translation>
    </message>
    <message>
        <source>The device on {port} speaks provisioning protocol version {proto}; this app speaks version 1.</source>
        <translation>{port} 上的设备使用第 {proto} 版配置协议，本工具仅支持第 1 版。</translation>
    </message>
    <message>
        <source>Update the app or the board&apos;s firmware.</source>
        <translation>请更新本工具或设备固件。</translation>
    </message>
    <message>
        <source>Cannot use the serial port {port}: {reason}</source>
        <translation>无法使用串口 {port}：{reason}</translation>
    </message>
    <message>
        <source>Unplug and re-plug the board, then run installer-app ports.</source>
        <translation>请拔下并重新插上设备，然后运行 installer-app ports。</translation>
    </message>
    <message>
        <source>The simulator&apos;s state file {path} is unreadable.</source>
        <translation>无法读取模拟设备的状态文件 {path}。</translation>
    </message>
    <message>
        <source>Delete it to start with a blank board, or pass another file.</source>
        <translation>删除该文件即可从空白设备开始，或指定另一个文件。</translation>
    </message>
    <message>
        <source>Cannot write the simulator&apos;s state file {path}.</source>
        <translation>无法写入模拟设备的状态文件 {path}。</translation>
    </message>
    <message>
        <source>Check the folder exists and is writable.</source>
        <translation>请确认该文件夹存在且可写。</translation>
    </message>
</context>
<context>
    <name>emulator</name>
    <message>
        <source>Warning: --host {host} makes the emulator reachable from other computers. It has no real security: anyone who can reach it can read its test secrets. Use it on a trusted network only.</source>
        <translation>警告：--host {host} 使其他计算机也能访问模拟服务。模拟服务没有真正的安全防护：任何能访问它的人都能读取其测试密钥。请只在可信网络中使用。</translation>
    </message>
    <message>
        <source>Provider emulator at {url} stopped.</source>
        <translation>位于 {url} 的服务商模拟服务已停止。</translation>
    </message>
    <message>
        <source>Provider emulator running at {url}</source>
        <translation>服务商模拟服务正在运行：{url}</translation>
    </message>
    <message>
        <source>Operator page (open it in a browser): {url}</source>
        <translation>操作页面（请在浏览器中打开）：{url}</translation>
    </message>
    <message>
        <source>Settings for installer-app:</source>
        <translation>installer-app 的设置：</translation>
    </message>
    <message>
        <source>The emulator&apos;s test secrets (not real ones) go into the environment:</source>
        <translation>模拟服务的测试密钥（并非真实密钥）通过以下环境变量提供：</translation>
    </message>
    <message>
        <source>Model ids it knows: {models}</source>
        <translation>已知的 model_id：{models}</translation>
    </message>
    <message>
        <source>State file: {path}</source>
        <translation>状态文件：{path}</translation>
    </message>
    <message>
        <source>State is kept in memory only.</source>
        <translation>状态仅保存在内存中。</translation>
    </message>
    <message>
        <source>Devices are bound automatically {seconds} s after they are registered.</source>
        <translation>设备注册 {seconds} 秒后将自动绑定。</translation>
    </message>
    <message>
        <source>Press Ctrl-C to stop.</source>
        <translation>按 Ctrl-C 停止。</translation>
    </message>
    <message>
        <source>Cannot listen on {host}:{port}: {reason}</source>
        <translation>无法在 {host}:{port} 上监听：{reason}</translation>
    </message>
    <message>
        <source>Choose another --port, or stop the program using this one.</source>
        <translation>请用 --port 换一个端口，或停止占用此端口的程序。</translation>
    </message>
    <message>
        <source>Cannot read the emulator state file {path}.</source>
        <translation>无法读取模拟服务的状态文件 {path}。</translation>
    </message>
    <message>
        <source>Check its permissions: {reason}</source>
        <translation>请检查文件权限：{reason}</translation>
    </message>
    <message>
        <source>The emulator state file {path} is damaged.</source>
        <translation>模拟服务的状态文件 {path} 已损坏。</translation>
    </message>
    <message>
        <source>Delete it or pass another --state file to start empty.</source>
        <translation>请删除该文件，或用 --state 指定另一个文件，以空状态启动。</translation>
    </message>
</context>
<context>
    <name>handover</name>
    <message>
        <source>Site handover</source>
        <translation>现场交接单</translation>
    </message>
    <message>
        <source>Devices at {corp}</source>
        <translation>{corp} 的设备</translation>
    </message>
    <message>
        <source>{corp} — page {page} of {pages}</source>
        <translation>{corp} — 第 {page} 页，共 {pages} 页</translation>
    </message>
    <message>
        <source>Enterprise</source>
        <translation>企业</translation>
    </message>
    <message>
        <source>Dates</source>
        <translation>日期</translation>
    </message>
    <message>
        <source>Installers</source>
        <translation>安装人员</translation>
    </message>
    <message>
        <source>Devices</source>
        <translation>设备数</translation>
    </message>
    <message>
        <source>The devices listed on the following pages were installed at the site above. Failed and skipped devices are listed too.</source>
        <translation>后续页面列出的设备已在上述现场安装。失败和跳过的设备也一并列出。</translation>
    </message>
    <message>
        <source>Installer</source>
        <translation>安装人员</translation>
    </message>
    <message>
        <source>Customer</source>
        <translation>客户</translation>
    </message>
    <message>
        <source>Signature</source>
        <translation>签名</translation>
    </message>
    <message>
        <source>Date</source>
        <translation>日期</translation>
    </message>
    <message>
        <source>bound, app installed</source>
        <translation>已绑定，应用已安装</translation>
    </message>
    <message>
        <source>bound</source>
        <translation>已绑定</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>skipped</source>
        <translation>已跳过</translation>
    </message>
    <message>
        <source>unfinished</source>
        <translation>未完成</translation>
    </message>
    <message>
        <source>The range ends ({last}) before it starts ({first}).</source>
        <translation>结束日期（{last}）早于开始日期（{first}）。</translation>
    </message>
    <message>
        <source>No boards for the enterprise {corp} from {first} to {last}.</source>
        <translation>企业 {corp} 在 {first} 至 {last} 期间没有设备。</translation>
    </message>
    <message>
        <source>Check the corpid and the dates in the history.</source>
        <translation>请在历史记录中核对 corpid 和日期。</translation>
    </message>
    <message>
        <source>No.</source>
        <translation>序号</translation>
    </message>
    <message>
        <source>Location</source>
        <translation>位置</translation>
    </message>
    <message>
        <source>SN</source>
        <translation>SN</translation>
    </message>
    <message>
        <source>HW_ID</source>
        <translation>HW_ID</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Companion app</source>
        <translation>硬件应用</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>installed</source>
        <translation>已安装</translation>
    </message>
    <message>
        <source>not installed</source>
        <translation>未安装</translation>
    </message>
    <message>
        <source>Cannot write {file}: {reason}.</source>
        <translation>无法写入 {file}：{reason}。</translation>
    </message>
    <message>
        <source>Choose a folder you can write to.</source>
        <translation>请选择一个有写入权限的文件夹。</translation>
    </message>
    <message>
        <source>The team server&apos;s records cannot be read now: {why}</source>
        <translation>现在无法读取团队服务器的记录：{why}</translation>
    </message>
    <message>
        <source>Try again when the team server can be reached, or make the package from this laptop&apos;s records only (installer-app handover --local; in the wizard: Records: this laptop).</source>
        <translation>请在能连接团队服务器时重试，或只用本机的记录生成交接包（installer-app handover --local；在向导中：记录来源：本机）。</translation>
    </message>
</context>
<context>
    <name>labels</name>
    <message>
        <source>blank (no credential)</source>
        <translation>空白（无调用凭证）</translation>
    </message>
    <message>
        <source>credential written, not locked</source>
        <translation>已写入调用凭证，尚未锁定</translation>
    </message>
    <message>
        <source>provisioned (locked)</source>
        <translation>已配置（已锁定）</translation>
    </message>
    <message>
        <source>not connected</source>
        <translation>未连接</translation>
    </message>
    <message>
        <source>on the network, not yet online</source>
        <translation>已接入网络，尚未连上企业微信</translation>
    </message>
    <message>
        <source>online (reached WeCom)</source>
        <translation>在线（已连上企业微信）</translation>
    </message>
    <message>
        <source>idle</source>
        <translation>空闲</translation>
    </message>
    <message>
        <source>registered</source>
        <translation>已注册</translation>
    </message>
    <message>
        <source>waiting for the binding</source>
        <translation>等待绑定</translation>
    </message>
    <message>
        <source>bound to an enterprise</source>
        <translation>已绑定企业</translation>
    </message>
    <message>
        <source>in the inventory</source>
        <translation>在库存中</translation>
    </message>
    <message>
        <source>credential reserved</source>
        <translation>已预留调用凭证</translation>
    </message>
    <message>
        <source>credential written</source>
        <translation>已写入调用凭证</translation>
    </message>
    <message>
        <source>credential verified</source>
        <translation>已校验调用凭证</translation>
    </message>
    <message>
        <source>locked</source>
        <translation>已锁定</translation>
    </message>
    <message>
        <source>bound</source>
        <translation>已绑定</translation>
    </message>
    <message>
        <source>companion app installed</source>
        <translation>硬件应用已安装</translation>
    </message>
    <message>
        <source>This profile shows dynamic binding QR codes, which expire: labels carry the static code from registration instead, never a dynamic one.</source>
        <translation>此配置使用会过期的动态绑定二维码：标签上印的是注册时获得的静态二维码，绝不会是动态二维码。</translation>
    </message>
    <message>
        <source>No board with these SNs in the history: {sns}.</source>
        <translation>历史记录中没有这些 SN 的设备：{sns}。</translation>
    </message>
    <message>
        <source>Check the SNs with: installer-app history</source>
        <translation>请用 installer-app history 核对 SN</translation>
    </message>
    <message>
        <source>No boards to label: {what}.</source>
        <translation>没有可打印标签的设备：{what}。</translation>
    </message>
    <message>
        <source>A sheet holds 1 to 20 columns and 1 to 40 rows, not {cols} × {rows}.</source>
        <translation>标签纸可为 1 到 20 列、1 到 40 行，不能是 {cols} × {rows}。</translation>
    </message>
    <message>
        <source>Margins and gaps cannot be negative.</source>
        <translation>页边距和间距不能为负数。</translation>
    </message>
    <message>
        <source>With these margins and gaps each label is {w} × {h} mm; it needs at least {min} × {min} mm.</source>
        <translation>按这些页边距和间距，每张标签为 {w} × {h} 毫米；至少需要 {min} × {min} 毫米。</translation>
    </message>
    <message>
        <source>Use fewer columns or rows, or smaller margins.</source>
        <translation>请减少列数或行数，或减小页边距。</translation>
    </message>
    <message>
        <source>A roll label is {min} to 300 mm wide and high, not {w} × {h} mm.</source>
        <translation>卷式标签的宽和高应为 {min} 到 300 毫米，不能是 {w} × {h} 毫米。</translation>
    </message>
    <message>
        <source>no static QR code</source>
        <translation>无静态二维码</translation>
    </message>
    <message>
        <source>Model {model}</source>
        <translation>型号 {model}</translation>
    </message>
    <message>
        <source>Device labels</source>
        <translation>设备标签</translation>
    </message>
    <message>
        <source>Cannot write {file}: {reason}.</source>
        <translation>无法写入 {file}：{reason}。</translation>
    </message>
    <message>
        <source>Check the path and that you may write there.</source>
        <translation>请检查路径以及是否有写入权限。</translation>
    </message>
</context>
<context>
    <name>provider</name>
    <message>
        <source>WeCom provider API: not configured (not needed in cloud mode).</source>
        <translation>企业微信服务商接口：未配置（云对云模式下无需配置）。</translation>
    </message>
    <message>
        <source>corpid</source>
        <translation>corpid</translation>
    </message>
    <message>
        <source>provider secret</source>
        <translation>服务商密钥 (provider_secret)</translation>
    </message>
    <message>
        <source>WeCom provider API: the {missing} is not set.</source>
        <translation>企业微信服务商接口：未设置 {missing}。</translation>
    </message>
    <message>
        <source>Set [provider] corpid in the settings file, and the provider secret in the credential store or INSTALLER_PROVIDER_SECRET.</source>
        <translation>请在设置文件中填写 [provider] corpid，并将服务商密钥保存到系统密钥库或环境变量 INSTALLER_PROVIDER_SECRET。</translation>
    </message>
    <message>
        <source>WeCom provider API at {host}: corpid {corpid} and provider secret work.</source>
        <translation>企业微信服务商接口（{host}）：corpid {corpid} 和服务商密钥均可用。</translation>
    </message>
    <message>
        <source>Partner service: not configured; whether the companion app is installed cannot be checked.</source>
        <translation>合作伙伴服务：未配置，无法检查硬件应用是否已安装。</translation>
    </message>
    <message>
        <source>URL</source>
        <translation>地址 (URL)</translation>
    </message>
    <message>
        <source>installer token</source>
        <translation>安装人员令牌</translation>
    </message>
    <message>
        <source>Partner service: the {missing} is not set.</source>
        <translation>合作伙伴服务：未设置 {missing}。</translation>
    </message>
    <message>
        <source>Set [partner] base_url in the settings file, and the installer token in the credential store or INSTALLER_PARTNER_TOKEN.</source>
        <translation>请在设置文件中填写 [partner] base_url，并将安装人员令牌保存到系统密钥库或环境变量 INSTALLER_PARTNER_TOKEN。</translation>
    </message>
    <message>
        <source>Partner service at {host}: the installer token works.</source>
        <translation>合作伙伴服务（{host}）：安装人员令牌可用。</translation>
    </message>
    <message>
        <source>Team server: the installer token is not set.</source>
        <translation>团队服务器：未设置安装人员令牌。</translation>
    </message>
    <message>
        <source>Save the installer token in the settings (credential store), or set INSTALLER_PARTNER_TOKEN.</source>
        <translation>请在设置中保存安装人员令牌（系统凭据存储），或设置 INSTALLER_PARTNER_TOKEN。</translation>
    </message>
    <message>
        <source>Team server at {host}: signed in as {installer}.</source>
        <translation>团队服务器 {host}：已登录为 {installer}。</translation>
    </message>
    <message>
        <source>The WeCom provider API is busy (errcode {errcode}).</source>
        <translation>企业微信服务商接口繁忙（errcode {errcode}）。</translation>
    </message>
    <message>
        <source>The app retries on its own; if this persists, try again in a few minutes.</source>
        <translation>本工具会自动重试；如果问题持续，请过几分钟再试。</translation>
    </message>
    <message>
        <source>WeCom is busy</source>
        <translation>企业微信繁忙</translation>
    </message>
    <message>
        <source>WeCom refused the provider secret (errcode {errcode}).</source>
        <translation>企业微信拒绝了服务商密钥（errcode {errcode}）。</translation>
    </message>
    <message>
        <source>The provider secret in settings is wrong: copy it again from the provider admin (服务商管理后台) and save it in settings.</source>
        <translation>设置中的服务商密钥 (provider_secret) 不正确：请从服务商管理后台重新复制，并保存到设置中。</translation>
    </message>
    <message>
        <source>WeCom refused the corpid (errcode {errcode}).</source>
        <translation>企业微信拒绝了 corpid（errcode {errcode}）。</translation>
    </message>
    <message>
        <source>The corpid in settings is wrong: use the provider&apos;s corpid shown in the provider admin.</source>
        <translation>设置中的 corpid 不正确：请使用服务商管理后台显示的服务商 corpid。</translation>
    </message>
    <message>
        <source>WeCom refused the access token even after a refresh (errcode {errcode}).</source>
        <translation>刷新后企业微信仍拒绝访问令牌（errcode {errcode}）。</translation>
    </message>
    <message>
        <source>Wait a minute and try again; if it persists, check the provider secret.</source>
        <translation>请等待一分钟后重试；如果问题持续，请检查服务商密钥。</translation>
    </message>
    <message>
        <source>access token refused</source>
        <translation>访问令牌被拒绝</translation>
    </message>
    <message>
        <source>WeCom is rate limiting this account (errcode {errcode}).</source>
        <translation>此账号调用企业微信接口过于频繁，已被限流（errcode {errcode}）。</translation>
    </message>
    <message>
        <source>The app waits and tries again; a per-minute block lasts about a minute.</source>
        <translation>本工具会等待后自动重试；按分钟计的限流约持续一分钟。</translation>
    </message>
    <message>
        <source>rate limited</source>
        <translation>调用过于频繁（被限流）</translation>
    </message>
    <message>
        <source>WeCom reports too many concurrent calls (errcode {errcode}).</source>
        <translation>企业微信提示并发调用过多（errcode {errcode}）。</translation>
    </message>
    <message>
        <source>The app waits and tries again; run fewer installer stations at once.</source>
        <translation>本工具会等待后自动重试；请减少同时工作的安装工位。</translation>
    </message>
    <message>
        <source>too many concurrent calls</source>
        <translation>并发调用过多</translation>
    </message>
    <message>
        <source>WeCom rejected the SN or does not know it (errcode {errcode}).</source>
        <translation>企业微信拒绝了此 SN，或查无此 SN（errcode {errcode}）。</translation>
    </message>
    <message>
        <source>The SN source is wrong: check the SN prefix in settings or the inventory file (SNs are 1 to 128 letters and digits).</source>
        <translation>SN 来源有误：请检查设置中的 SN 前缀或库存文件（SN 由 1 到 128 个字母和数字组成）。</translation>
    </message>
    <message>
        <source>This SN is already registered with WeCom (errcode {errcode}).</source>
        <translation>此 SN 已在企业微信注册过（errcode {errcode}）。</translation>
    </message>
    <message>
        <source>Its SecretNo cannot be fetched again: import it from the provider admin&apos;s export, or use a new SN.</source>
        <translation>无法再次获取它的调用凭证 (SecretNo)：请从服务商管理后台导出的文件中导入，或改用新的 SN。</translation>
    </message>
    <message>
        <source>The device is not bound to any enterprise yet (errcode {errcode}).</source>
        <translation>设备尚未绑定任何企业（errcode {errcode}）。</translation>
    </message>
    <message>
        <source>An enterprise admin scans the binding QR code in the WeCom app.</source>
        <translation>请企业管理员在企业微信中扫描绑定二维码。</translation>
    </message>
    <message>
        <source>WeCom says this device&apos;s SecretNo is invalid (errcode {errcode}).</source>
        <translation>企业微信提示此设备的调用凭证 (SecretNo) 无效（errcode {errcode}）。</translation>
    </message>
    <message>
        <source>The device must get new credentials: reset its SecretNo in the provider admin, then provision it again.</source>
        <translation>需要为设备更换调用凭证：请在服务商管理后台重置其 SecretNo，然后重新配置设备。</translation>
    </message>
    <message>
        <source>WeCom does not know this model (errcode {errcode}).</source>
        <translation>企业微信中不存在此型号（errcode {errcode}）。</translation>
    </message>
    <message>
        <source>model_id in settings is wrong: use a model id from the provider admin.</source>
        <translation>设置中的 model_id 不正确：请使用服务商管理后台中的型号 ID (model_id)。</translation>
    </message>
    <message>
        <source>The provider API answered errcode {errcode}: {errmsg}</source>
        <translation>服务商接口返回 errcode {errcode}：{errmsg}</translation>
    </message>
    <message>
        <source>Look the code up in the WeCom documentation, or send this message to the provider admin.</source>
        <translation>请在企业微信开发文档中查询该错误码，或将此信息发给服务商管理员。</translation>
    </message>
    <message>
        <source>The partner service refused the installer token.</source>
        <translation>合作伙伴服务拒绝了安装人员令牌。</translation>
    </message>
    <message>
        <source>WeCom says this device has already registered itself (errcode {errcode}): the board was activated before.</source>
        <translation>企业微信称该设备已自行注册（errcode {errcode}）：这块板子以前已被激活过。</translation>
    </message>
    <message>
        <source>Stop here and set this board aside: it has already opened its own connection to WeCom. Ask the provider admin before provisioning it again.</source>
        <translation>请在此停止并把这块板子放到一边：它已经自行连接过企业微信。再次配置之前，请先询问服务商管理员。</translation>
    </message>
    <message>
        <source>WeCom says the model_id is missing (errcode {errcode}).</source>
        <translation>企业微信称缺少 model_id（errcode {errcode}）。</translation>
    </message>
    <message>
        <source>Set model_id in settings to the model id shown in the provider admin (服务商管理后台).</source>
        <translation>请在设置中把 model_id 设为服务商管理后台显示的型号 ID。</translation>
    </message>
    <message>
        <source>WeCom says the model_id is invalid (errcode {errcode}).</source>
        <translation>企业微信称 model_id 无效（errcode {errcode}）。</translation>
    </message>
    <message>
        <source>model_id in settings is wrong: copy it exactly as the provider admin shows it.</source>
        <translation>设置中的 model_id 有误：请按服务商管理后台显示的内容原样复制。</translation>
    </message>
    <message>
        <source>WeCom says this SN has expired (errcode {errcode}).</source>
        <translation>企业微信称该 SN 已过期（errcode {errcode}）。</translation>
    </message>
    <message>
        <source>The SN&apos;s validity in the provider admin (服务商管理后台) has ended: extend it there, or use another SN.</source>
        <translation>该 SN 在服务商管理后台的有效期已结束：请在那里延期，或改用其他 SN。</translation>
    </message>
    <message>
        <source>The installer token in settings is wrong or revoked: ask the partner for a new one.</source>
        <translation>设置中的安装人员令牌不正确或已被吊销：请向合作伙伴申请新的令牌。</translation>
    </message>
    <message>
        <source>The team server does not allow this installer to do that.</source>
        <translation>团队服务器不允许该安装人员执行此操作。</translation>
    </message>
    <message>
        <source>Ask the team server&apos;s administrator.</source>
        <translation>请联系团队服务器的管理员。</translation>
    </message>
    <message>
        <source>The team server has no credential left for this model.</source>
        <translation>团队服务器上已没有该型号的可用凭据。</translation>
    </message>
    <message>
        <source>Ask the team server&apos;s administrator to import more SNs into its pool.</source>
        <translation>请联系团队服务器的管理员向凭据池导入更多 SN。</translation>
    </message>
    <message>
        <source>The partner service is rate limiting this installer.</source>
        <translation>此安装人员调用合作伙伴服务过于频繁，已被限流。</translation>
    </message>
    <message>
        <source>The app waits as the service asks and tries again.</source>
        <translation>本工具会按服务要求的时间等待，然后自动重试。</translation>
    </message>
    <message>
        <source>The partner service does not know this SN.</source>
        <translation>合作伙伴服务中没有此 SN。</translation>
    </message>
    <message>
        <source>Register the device with the partner service first, or check the SN.</source>
        <translation>请先在合作伙伴服务中注册设备，或检查 SN。</translation>
    </message>
    <message>
        <source>Cannot reach {host} ({detail}): check the network.</source>
        <translation>无法连接 {host}（{detail}）：请检查网络。</translation>
    </message>
    <message>
        <source>Check the network connection and the server address in settings; the app retries on its own.</source>
        <translation>请检查网络连接和设置中的服务器地址；本工具会自动重试。</translation>
    </message>
    <message>
        <source>network down or server unreachable</source>
        <translation>网络中断或服务器无法访问</translation>
    </message>
    <message>
        <source>{host} answered HTTP {status} without the expected JSON ({detail}).</source>
        <translation>{host} 返回了 HTTP {status}，但不是预期的 JSON（{detail}）。</translation>
    </message>
    <message>
        <source>Check the server address in settings: it must point at the WeCom API or the partner service.</source>
        <translation>请检查设置中的服务器地址：它必须指向企业微信接口或合作伙伴服务。</translation>
    </message>
    <message>
        <source>The request to the provider was cancelled.</source>
        <translation>对服务商接口的请求已取消。</translation>
    </message>
    <message>
        <source>{reason}, retrying in {seconds} s</source>
        <translation>{reason}，{seconds} 秒后重试</translation>
    </message>
    <message>
        <source>connection timed out</source>
        <translation>连接超时</translation>
    </message>
    <message>
        <source>no answer in time</source>
        <translation>未及时应答</translation>
    </message>
    <message>
        <source>connection failed</source>
        <translation>连接失败</translation>
    </message>
    <message>
        <source>connection dropped</source>
        <translation>连接中断</translation>
    </message>
    <message>
        <source>network error {kind}</source>
        <translation>网络错误 {kind}</translation>
    </message>
    <message>
        <source>server error HTTP {status}</source>
        <translation>服务器错误 HTTP {status}</translation>
    </message>
    <message>
        <source>not a JSON object</source>
        <translation>不是 JSON 对象</translation>
    </message>
    <message>
        <source>unexpected HTTP status</source>
        <translation>意外的 HTTP 状态码</translation>
    </message>
    <message>
        <source>fields missing from the answer</source>
        <translation>应答中缺少字段</translation>
    </message>
    <message>
        <source>The binding QR link is not valid: {problem}</source>
        <translation>绑定二维码链接无效：{problem}</translation>
    </message>
    <message>
        <source>Check the provider settings; switch to the dynamic QR code if this persists.</source>
        <translation>请检查服务商设置；如果问题持续，请改用动态二维码。</translation>
    </message>
    <message>
        <source>it would carry a secret</source>
        <translation>链接中会包含密钥</translation>
    </message>
    <message>
        <source>it does not point at WeCom&apos;s binding page</source>
        <translation>链接未指向企业微信的绑定页面</translation>
    </message>
    <message>
        <source>its parameters are not WeCom&apos;s</source>
        <translation>其参数不是企业微信的格式</translation>
    </message>
    <message>
        <source>it has no hw_code</source>
        <translation>链接中缺少 hw_code</translation>
    </message>
</context>
<context>
    <name>server</name>
    <message>
        <source>An installer name is 1 to {n} printable characters.</source>
        <translation>安装人员名称应为 1 到 {n} 个可打印字符。</translation>
    </message>
    <message>
        <source>An installer named {name} exists.</source>
        <translation>名为 {name} 的安装人员已存在。</translation>
    </message>
    <message>
        <source>Choose another name.</source>
        <translation>请换一个名称。</translation>
    </message>
    <message>
        <source>No installer is named {name}.</source>
        <translation>没有名为 {name} 的安装人员。</translation>
    </message>
    <message>
        <source>Server setting {key}: {problem}</source>
        <translation>服务器设置 {key}：{problem}</translation>
    </message>
    <message>
        <source>Fix it in the [server] section or the environment.</source>
        <translation>请在 [server] 配置段或环境变量中修正。</translation>
    </message>
    <message>
        <source>must be a table</source>
        <translation>必须是一个表</translation>
    </message>
    <message>
        <source>unknown key (secrets come from the environment)</source>
        <translation>未知的键（密钥应通过环境变量提供）</translation>
    </message>
    <message>
        <source>wrong type</source>
        <translation>类型错误</translation>
    </message>
    <message>
        <source>a list of model IDs (text)</source>
        <translation>应为型号 ID 列表（文本）</translation>
    </message>
    <message>
        <source>register or inventory</source>
        <translation>应为 register 或 inventory</translation>
    </message>
    <message>
        <source>from 0.1 to 3600 seconds</source>
        <translation>应为 0.1 到 3600 秒</translation>
    </message>
    <message>
        <source>20 or more</source>
        <translation>应为 20 或更大</translation>
    </message>
    <message>
        <source>must use https unless the host is loopback</source>
        <translation>除本机回环地址外必须使用 https</translation>
    </message>
    <message>
        <source>No database is configured.</source>
        <translation>未配置数据库。</translation>
    </message>
    <message>
        <source>Give --database-url postgresql://user:pass@host:port/db, or set INSTALLER_DATABASE_URL, or [server] database_url.</source>
        <translation>请指定 --database-url postgresql://user:pass@host:port/db，或设置环境变量 INSTALLER_DATABASE_URL，或 [server] database_url。</translation>
    </message>
    <message>
        <source>must start with postgresql://</source>
        <translation>必须以 postgresql:// 开头</translation>
    </message>
    <message>
        <source>a database on another host needs sslmode=require or verify-full</source>
        <translation>其他主机上的数据库需要 sslmode=require 或 verify-full</translation>
    </message>
    <message>
        <source>the 43-character EncodingAESKey</source>
        <translation>应为 43 个字符的 EncodingAESKey</translation>
    </message>
    <message>
        <source>cannot be read</source>
        <translation>无法读取</translation>
    </message>
    <message>
        <source>32 random bytes in standard Base64 (44 characters)</source>
        <translation>应为标准 Base64 编码的 32 个随机字节（44 个字符）</translation>
    </message>
    <message>
        <source>{name} is not set.</source>
        <translation>未设置 {name}。</translation>
    </message>
    <message>
        <source>The team server needs it: see docs/server.md.</source>
        <translation>团队服务器需要此项：请参阅 docs/server.md。</translation>
    </message>
    <message>
        <source>The database does not answer ({reason}).</source>
        <translation>数据库没有响应（{reason}）。</translation>
    </message>
    <message>
        <source>Check that PostgreSQL runs and the database URL.</source>
        <translation>请检查 PostgreSQL 是否在运行，以及数据库地址是否正确。</translation>
    </message>
    <message>
        <source>PostgreSQL&apos;s server programs are not installed.</source>
        <translation>未安装 PostgreSQL 服务器程序。</translation>
    </message>
    <message>
        <source>Install the postgresql package ({command}).</source>
        <translation>请安装 postgresql 软件包（{command}）。</translation>
    </message>
    <message>
        <source>no model_id in the row and no --model-id given</source>
        <translation>该行没有 model_id，且未指定 --model-id</translation>
    </message>
</context>
<context>
    <name>store</name>
    <message>
        <source>SN {sn} is already in the store with another SecretNo.</source>
        <translation>SN {sn} 已在本地数据库中，但对应的调用凭证 (SecretNo) 不同。</translation>
    </message>
    <message>
        <source>SN {sn} is already assigned to board {held_by}; it cannot go to board {wanted_by}.</source>
        <translation>SN {sn} 已分配给设备 {held_by}，不能再分配给设备 {wanted_by}。</translation>
    </message>
    <message>
        <source>An SN is given to one board only, ever. Use another SN, or check the history for the board that holds it.</source>
        <translation>每个 SN 只能分配给一台设备，不能重复使用。请改用其他 SN，或在历史记录中查找持有该 SN 的设备。</translation>
    </message>
    <message>
        <source>Board {hw_id} already holds SN {held_sn}; it cannot also get {sn}.</source>
        <translation>设备 {hw_id} 已持有 SN {held_sn}，不能再分配 {sn}。</translation>
    </message>
    <message>
        <source>Resume the board with the SN it already holds.</source>
        <translation>请使用该设备已持有的 SN 继续配置。</translation>
    </message>
    <message>
        <source>SN {sn} is not in the store.</source>
        <translation>本地数据库中没有 SN {sn}。</translation>
    </message>
    <message>
        <source>SN {sn} is {current}; it cannot move to {wanted} (stages only move forward).</source>
        <translation>SN {sn} 当前处于 {current} 阶段，不能转到 {wanted}（阶段只能向前推进）。</translation>
    </message>
    <message>
        <source>The store refused a change that would break its rules: {reason}.</source>
        <translation>本地数据库拒绝了一项违反其规则的修改：{reason}。</translation>
    </message>
    <message>
        <source>Nothing was changed. Check the history of this board, then retry.</source>
        <translation>未做任何修改。请查看此设备的历史记录，然后重试。</translation>
    </message>
    <message>
        <source>The database file is damaged: {file} ({reason}).</source>
        <translation>数据库文件已损坏：{file}（{reason}）。</translation>
    </message>
    <message>
        <source>Keep a copy of the file, then restore it from a backup or move it away to start a new one.</source>
        <translation>请先保留该文件的副本，然后从备份恢复，或将其移走以新建数据库。</translation>
    </message>
    <message>
        <source>The database {file} was written by a newer version of the app (schema {found}, this version knows {known}).</source>
        <translation>数据库 {file} 由更新版本的本工具写入（结构版本 {found}，当前版本最高支持 {known}）。</translation>
    </message>
    <message>
        <source>Update the app to open it.</source>
        <translation>请更新本工具后再打开。</translation>
    </message>
    <message>
        <source>The database {file} stayed busy in another program for too long.</source>
        <translation>数据库 {file} 被其他程序占用的时间过长。</translation>
    </message>
    <message>
        <source>Close the other copy of the app that uses it, then try again.</source>
        <translation>请关闭正在使用它的另一个本工具实例，然后重试。</translation>
    </message>
    <message>
        <source>Cannot use the database {file}: {reason}.</source>
        <translation>无法使用数据库 {file}：{reason}。</translation>
    </message>
    <message>
        <source>Check the folder&apos;s permissions and free space, or pick --data-dir.</source>
        <translation>请检查文件夹权限和剩余空间，或用 --data-dir 指定其他目录。</translation>
    </message>
    <message>
        <source>To keep the key in a file only you can read instead: in the wizard, Settings → Records → Key file; on the command line, key_file in the [store] section of the configuration, or the environment variable {env}.</source>
        <translation>如需改为将密钥保存在仅您可读的文件中：在向导中，打开“设置 → 本地记录 → 密钥文件”；在命令行中，在配置文件的 [store] 节设置 key_file，或设置环境变量 {env}。</translation>
    </message>
    <message>
        <source>This computer has no credential store to keep the database key ({reason}), so the app will not keep device secrets.</source>
        <translation>这台电脑没有可保存数据库密钥的系统密钥库（{reason}），因此本工具不会保存设备密钥。</translation>
    </message>
    <message>
        <source>This copy of the app was built without access to the Linux desktop keyring (Secret Service), so it will not keep device secrets there.</source>
        <translation>此版本的工具在构建时未包含对 Linux 桌面密钥环（Secret Service）的支持，因此不会在其中保存设备密钥。</translation>
    </message>
    <message>
        <source>The key file {file} can be read by other users (permissions {mode}); the app will not use it.</source>
        <translation>密钥文件 {file} 可被其他用户读取（权限 {mode}），本工具不会使用它。</translation>
    </message>
    <message>
        <source>Run: chmod 600 {file}</source>
        <translation>请运行：chmod 600 {file}</translation>
    </message>
    <message>
        <source>Cannot use the key file {file}: {reason}.</source>
        <translation>无法使用密钥文件 {file}：{reason}。</translation>
    </message>
    <message>
        <source>The key file holds one line of base64 (32 bytes). Restore it from your backup; without it the stored SecretNos cannot be read.</source>
        <translation>密钥文件应为一行 base64（32 字节）。请从备份中恢复；没有它，已保存的调用凭证 (SecretNo) 将无法读取。</translation>
    </message>
    <message>
        <source>The encryption key does not match the database {file}: its SecretNos were stored with another key.</source>
        <translation>加密密钥与数据库 {file} 不匹配：其中的调用凭证 (SecretNo) 是用另一个密钥保存的。</translation>
    </message>
    <message>
        <source>Use the key file or credential store this database was created with.</source>
        <translation>请使用创建该数据库时所用的密钥文件或系统密钥库。</translation>
    </message>
    <message>
        <source>Cannot write {file}: {reason}.</source>
        <translation>无法写入 {file}：{reason}。</translation>
    </message>
    <message>
        <source>Choose a folder you can write to.</source>
        <translation>请选择一个有写入权限的文件夹。</translation>
    </message>
    <message>
        <source>Cannot import {file}: {reason}.</source>
        <translation>无法导入 {file}：{reason}。</translation>
    </message>
    <message>
        <source>Use the file exported by the provider admin: UTF-8 CSV (comma or tab) or .xlsx, with the columns device_sn and secret_no (or 设备SN and 调用凭证).</source>
        <translation>请使用服务商管理后台导出的文件：UTF-8 编码的 CSV（逗号或制表符分隔）或 .xlsx，包含 device_sn 和 secret_no 列（或“设备SN”和“调用凭证”列）。</translation>
    </message>
    <message>
        <source>it is not a text or .xlsx file</source>
        <translation>不是文本文件或 .xlsx 文件</translation>
    </message>
    <message>
        <source>it is not a valid CSV file ({reason})</source>
        <translation>不是有效的 CSV 文件（{reason}）</translation>
    </message>
    <message>
        <source>it is not a readable .xlsx workbook ({reason})</source>
        <translation>不是可读取的 .xlsx 工作簿（{reason}）</translation>
    </message>
    <message>
        <source>{reason}</source>
        <translation>{reason}</translation>
    </message>
    <message>
        <source>the {column} cell is TRUE or FALSE, not text</source>
        <translation>{column} 单元格是 TRUE 或 FALSE，不是文本</translation>
    </message>
    <message>
        <source>the {column} cell is a fraction, not an SN or text</source>
        <translation>{column} 单元格是小数，不是 SN 或文本</translation>
    </message>
    <message>
        <source>the {column} cell is a number of more than 15 digits, whose last digits Excel has already lost; format the column as Text and enter the values again</source>
        <translation>{column} 单元格是超过 15 位的数字，Excel 已丢失其末尾数字；请将该列设置为“文本”格式并重新输入</translation>
    </message>
    <message>
        <source>the {column} cell is too long</source>
        <translation>{column} 单元格过长</translation>
    </message>
    <message>
        <source>Cannot import {file}: it is not UTF-8, UTF-16 or GB18030 (GBK) text.</source>
        <translation>无法导入 {file}：它不是 UTF-8、UTF-16 或 GB18030（GBK）文本。</translation>
    </message>
    <message>
        <source>Open it in Excel and choose File &gt; Save As &gt; &quot;CSV UTF-8 (Comma delimited)&quot; (or save it as .xlsx), then import that file.</source>
        <translation>请在 Excel 中打开它，选择“文件 &gt; 另存为 &gt; CSV UTF-8（逗号分隔）”（或另存为 .xlsx），然后导入该文件。</translation>
    </message>
    <message>
        <source>a line is longer than {limit} characters</source>
        <translation>有一行超过 {limit} 个字符</translation>
    </message>
    <message>
        <source>it unpacks to {size} MB, more than the {limit} MB an inventory workbook may take; split it, or save it as CSV</source>
        <translation>它解压后为 {size} MB，超过库存工作簿允许的 {limit} MB；请拆分文件，或另存为 CSV</translation>
    </message>
    <message>
        <source>it is an old .xls workbook; save it as .xlsx or CSV in Excel</source>
        <translation>这是旧版 .xls 工作簿，请在 Excel 中另存为 .xlsx 或 CSV</translation>
    </message>
    <message>
        <source>the column {column} appears twice</source>
        <translation>列 {column} 出现了两次</translation>
    </message>
    <message>
        <source>it has no {column} column (columns found: {found})</source>
        <translation>缺少 {column} 列（已找到的列：{found}）</translation>
    </message>
    <message>
        <source>it has more than {limit} rows; split it into files of at most {limit} rows</source>
        <translation>它超过 {limit} 行；请拆分为每个不超过 {limit} 行的文件</translation>
    </message>
    <message>
        <source>no device_sn</source>
        <translation>缺少 device_sn</translation>
    </message>
    <message>
        <source>SN {sn} is not valid: 1 to 128 letters A-Z, a-z and digits</source>
        <translation>SN {sn} 无效：应为 1 到 128 个字母（A-Z、a-z）或数字</translation>
    </message>
    <message>
        <source>SN {sn} has no SecretNo</source>
        <translation>SN {sn} 缺少调用凭证 (SecretNo)</translation>
    </message>
    <message>
        <source>the SecretNo of SN {sn} is not valid: 1 to 128 printable ASCII characters without spaces</source>
        <translation>SN {sn} 的调用凭证 (SecretNo) 无效：应为 1 到 128 个不含空格的可打印 ASCII 字符</translation>
    </message>
    <message>
        <source>SN {sn} appears again (first on row {first})</source>
        <translation>SN {sn} 重复出现（首次出现在第 {first} 行）</translation>
    </message>
    <message>
        <source>SN {sn} is for model {model}, not the configured {expected}</source>
        <translation>SN {sn} 属于型号 {model}，而不是设置中的 {expected}</translation>
    </message>
    <message>
        <source>the QR code of SN {sn} is not usable: {problem}</source>
        <translation>SN {sn} 的二维码不可用：{problem}</translation>
    </message>
    <message>
        <source>it is empty</source>
        <translation>文件为空</translation>
    </message>
    <message>
        <source>SN {sn} is already in the store with another SecretNo</source>
        <translation>SN {sn} 已在本地数据库中，但对应的调用凭证 (SecretNo) 不同</translation>
    </message>
</context>
<context>
    <name>team</name>
    <message>
        <source>No credential for this board: the team server cannot give one ({why}) and this laptop holds no leased credential for the model.</source>
        <translation>无法为该设备获取凭据：团队服务器无法签发（{why}），本机也没有该型号的租借凭据。</translation>
    </message>
    <message>
        <source>Connect to the team server, or take credentials for offline work before leaving: installer-app leases take N.</source>
        <translation>请连接团队服务器，或在出发前领取离线作业凭据：installer-app leases take N。</translation>
    </message>
    <message>
        <source>The team server refused the record of SN {sn}: it ties this SN to another board ({reason}).</source>
        <translation>团队服务器拒绝了 SN {sn} 的记录：该 SN 已绑定到另一块设备（{reason}）。</translation>
    </message>
    <message>
        <source>Set this board aside and tell the team server&apos;s administrator; the record stays on this laptop and nothing was overwritten.</source>
        <translation>请将该设备放到一边并告知团队服务器的管理员；记录保留在本机，任何数据都未被覆盖。</translation>
    </message>
</context>
<context>
    <name>workflow</name>
    <message>
        <source>The partner service gave no binding QR code for {sn}.</source>
        <translation>合作伙伴服务没有返回 {sn} 的绑定二维码。</translation>
    </message>
    <message>
        <source>Ask the partner service&apos;s operator.</source>
        <translation>请联系合作伙伴服务的运维人员。</translation>
    </message>
    <message>
        <source>Already bound to {corp}: no QR code needed.</source>
        <translation>已绑定到 {corp}，无需扫描二维码。</translation>
    </message>
    <message>
        <source>No static QR code is known for this SN; showing the dynamic one.</source>
        <translation>此 SN 没有静态二维码，改为显示动态二维码。</translation>
    </message>
    <message>
        <source>Waiting for the enterprise admin to scan the QR code in WeCom (Workbench → Manage enterprise → Smart hardware → Add device).</source>
        <translation>等待企业管理员在企业微信中扫描二维码（工作台 → 管理企业 → 智慧硬件 → 添加设备 → 扫码）。</translation>
    </message>
    <message>
        <source>The QR code was renewed.</source>
        <translation>二维码已更新。</translation>
    </message>
    <message>
        <source>Written and locked; the binding is to be confirmed by the team server, which cannot be reached now. The record is kept.</source>
        <translation>已写入并锁定；团队服务器当前无法连接，绑定将由其稍后确认。记录已保存。</translation>
    </message>
    <message>
        <source>The board reports it is bound to {corp}; confirming.</source>
        <translation>设备报告已绑定到 {corp}，正在确认。</translation>
    </message>
    <message>
        <source>Bound to {corp}.</source>
        <translation>已绑定到 {corp}。</translation>
    </message>
    <message>
        <source>Waiting for the companion app to be installed.</source>
        <translation>正在等待硬件应用安装。</translation>
    </message>
    <message>
        <source>The companion app cannot be checked: no partner service is configured.</source>
        <translation>无法检查硬件应用：未配置合作伙伴服务。</translation>
    </message>
    <message>
        <source>the companion app</source>
        <translation>硬件应用安装</translation>
    </message>
    <message>
        <source>the binding</source>
        <translation>绑定</translation>
    </message>
    <message>
        <source>Something unexpected went wrong; the details are in the log file.</source>
        <translation>发生了意外错误，详细信息见日志文件。</translation>
    </message>
    <message>
        <source>This board is a {found}, but the app is set up for {expected}.</source>
        <translation>此设备型号为 {found}，但本工具设置的型号是 {expected}。</translation>
    </message>
    <message>
        <source>Connect a {expected} board, or change [provider] model_id in the settings.</source>
        <translation>请连接 {expected} 型号的设备，或在设置中修改 [provider] model_id。</translation>
    </message>
    <message>
        <source>Board {hw_id} is already provisioned with SN {sn}, which this computer did not issue. It was left untouched.</source>
        <translation>设备 {hw_id} 已配置了 SN {sn}，但该 SN 并非由这台电脑分配。未对设备做任何改动。</translation>
    </message>
    <message>
        <source>Provision it from the computer that issued that SN, or factory-reset it if you are sure it is not in use.</source>
        <translation>请在分配该 SN 的电脑上配置此设备；如果确认它已不再使用，可将其恢复出厂设置。</translation>
    </message>
    <message>
        <source>The board did not prove the credential of SN {sn} (it reports SN {device_sn}).</source>
        <translation>设备未通过 SN {sn} 的调用凭证校验（设备报告的 SN 为 {device_sn}）。</translation>
    </message>
    <message>
        <source>Check the cable and try again; if it repeats, the board is faulty.</source>
        <translation>请检查数据线后重试；如果反复出现，说明设备有故障。</translation>
    </message>
    <message>
        <source>No unused SN is left in the inventory.</source>
        <translation>库存中已没有未使用的 SN。</translation>
    </message>
    <message>
        <source>Import a new export from the provider admin: installer-app inventory import FILE.</source>
        <translation>请从服务商管理后台导出新文件并导入：installer-app inventory import FILE。</translation>
    </message>
    <message>
        <source>SN {sn} for board {hw_id} is already registered with WeCom, but not by this computer. Nothing was written to the board.</source>
        <translation>设备 {hw_id} 的 SN {sn} 已在企业微信注册，但不是由这台电脑注册的。未向设备写入任何内容。</translation>
    </message>
    <message>
        <source>Provision the board from the computer that registered it, or ask the provider admin to delete the SN if it was never used.</source>
        <translation>请在注册该 SN 的电脑上配置此设备；如果该 SN 从未使用过，请联系服务商管理员将其删除。</translation>
    </message>
    <message>
        <source>Stopped at the installer&apos;s request.</source>
        <translation>已按安装人员的要求停止。</translation>
    </message>
    <message>
        <source>Start again with the same board: it resumes where it stopped.</source>
        <translation>用同一台设备重新开始即可，将从中断处继续。</translation>
    </message>
    <message>
        <source>The board was skipped; nothing was changed.</source>
        <translation>已跳过此设备，未做任何改动。</translation>
    </message>
    <message>
        <source>Gave up waiting for {what} of SN {sn} after {s} s.</source>
        <translation>SN {sn} 等待{what}已超过 {s} 秒，已停止等待。</translation>
    </message>
    <message>
        <source>Run provision again for the same board: it resumes and waits again.</source>
        <translation>请对同一台设备再次运行 provision，将从中断处继续并重新等待。</translation>
    </message>
    <message>
        <source>The board already holds this credential.</source>
        <translation>设备已持有此调用凭证。</translation>
    </message>
    <message>
        <source>Factory reset of the board.</source>
        <translation>设备已恢复出厂设置。</translation>
    </message>
    <message>
        <source>The board already holds SN {sn}: resuming where it stopped.</source>
        <translation>设备已持有 SN {sn}，从中断处继续。</translation>
    </message>
    <message>
        <source>The credential is already locked in.</source>
        <translation>调用凭证已锁定。</translation>
    </message>
    <message>
        <source>The board&apos;s network was left as it is.</source>
        <translation>设备网络保持不变。</translation>
    </message>
    <message>
        <source>This board has no Wi-Fi (it does not know SET_WIFI).</source>
        <translation>此设备不支持 Wi-Fi（不支持 SET_WIFI 命令）。</translation>
    </message>
    <message>
        <source>The board is not online yet; check the network name and password. The binding can go ahead meanwhile.</source>
        <translation>设备尚未联网，请检查网络名称和密码。绑定可以同时进行。</translation>
    </message>
    <message>
        <source>The board is written; its binding is to be confirmed by the server.</source>
        <translation>设备已写入；绑定待服务器确认。</translation>
    </message>
    <message>
        <source>The board is provisioned and bound.</source>
        <translation>设备已配置并完成绑定。</translation>
    </message>
    <message>
        <source>The board is provisioned; the QR code is ready for the binding.</source>
        <translation>设备已配置，绑定二维码已就绪。</translation>
    </message>
    <message>
        <source>The setting {key} is needed to provision, but it is empty ({file}).</source>
        <translation>配置设备需要设置项 {key}，但它为空（{file}）。</translation>
    </message>
    <message>
        <source>Set it in the configuration file or in the settings dialog.</source>
        <translation>请在配置文件或“设置”对话框中填写。</translation>
    </message>
    <message>
        <source>Save it in the settings dialog (OS credential store), or set the environment variable {env}.</source>
        <translation>请在“设置”对话框中保存（存入系统密钥库），或设置环境变量 {env}。</translation>
    </message>
    <message>
        <source>[provider] mode = {mode} does not go with [credentials] source = {chosen} ({file}).</source>
        <translation>[provider] mode = {mode} 与 [credentials] source = {chosen} 不匹配（{file}）。</translation>
    </message>
    <message>
        <source>Cloud-to-cloud mode takes its credentials from the partner service (source = partner); direct mode uses register or inventory.</source>
        <translation>云对云模式从合作伙伴服务获取调用凭证（source = partner）；硬件直连模式使用 register 或 inventory。</translation>
    </message>
    <message>
        <source>SN {sn} holds the model&apos;s seed SecretNo and has no static QR code; a dynamic code cannot be signed with a seed.</source>
        <translation>SN {sn} 持有的是该型号的初始调用凭证，且没有静态二维码；动态二维码不能用初始凭证签名。</translation>
    </message>
    <message>
        <source>Import the provider admin&apos;s export with its qr_code column, or set [provider] secret_mode = &quot;per_device&quot; if this model has no seed.</source>
        <translation>请导入服务商管理后台带 qr_code（二维码）列的导出文件；如果该型号没有初始凭证，请设置 [provider] secret_mode = &quot;per_device&quot;。</translation>
    </message>
    <message>
        <source>Cloud-to-cloud mode: the partner&apos;s cloud sets up the board&apos;s network, not this app.</source>
        <translation>云对云模式：设备的网络由合作方的云端配置，而不是本应用。</translation>
    </message>
    <message>
        <source>blank</source>
        <translation>空白</translation>
    </message>
    <message>
        <source>in progress</source>
        <translation>进行中</translation>
    </message>
    <message>
        <source>needs the admin</source>
        <translation>待管理员扫码</translation>
    </message>
    <message>
        <source>done here</source>
        <translation>本机已完成</translation>
    </message>
    <message>
        <source>provisioned elsewhere</source>
        <translation>已在别处配置</translation>
    </message>
    <message>
        <source>wrong model</source>
        <translation>型号不符</translation>
    </message>
    <message>
        <source>firmware too old</source>
        <translation>固件版本过低</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>There is no profile named {name}.</source>
        <translation>没有名为 {name} 的配置方案。</translation>
    </message>
    <message>
        <source>Add a [profiles.{name}] table to the settings.</source>
        <translation>请在配置文件中添加 [profiles.{name}] 表。</translation>
    </message>
    <message>
        <source>This board runs firmware {have}; this profile needs {need} or newer.</source>
        <translation>此设备的固件版本为 {have}；当前配置方案要求 {need} 或更新版本。</translation>
    </message>
    <message>
        <source>Update the board&apos;s firmware first, or choose another profile on the Start page.</source>
        <translation>请先升级设备固件，或在开始页面选择其他配置方案。</translation>
    </message>
    <message>
        <source>The bench&apos;s board worker could not open the session: {detail}</source>
        <translation>工作台视图的设备处理进程无法打开会话：{detail}</translation>
    </message>
    <message>
        <source>Press Retry on the board&apos;s card: it goes on from the step it had reached.</source>
        <translation>请在该设备卡片上点“重试”：它会从已完成的步骤继续。</translation>
    </message>
    <message>
        <source>The bench&apos;s board worker stopped unexpectedly (exit code {code}).</source>
        <translation>工作台视图的设备处理进程意外停止（退出码 {code}）。</translation>
    </message>
    <message>
        <source>The bench&apos;s board worker could not start: {detail}</source>
        <translation>工作台视图的设备处理进程无法启动：{detail}</translation>
    </message>
</context>
</TS>
