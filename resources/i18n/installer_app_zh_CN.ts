<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>cli</name>
    <message>
        <source>Error</source>
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
        <source>must be above zero</source>
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
        <source>unknown key{hint}</source>
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
</context>
</TS>
