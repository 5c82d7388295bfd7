//! Go text/template and Sprig semantics of the engine, case by case.

use cutover_chart::{Limits, TemplateSet};
use serde_json::{Value, json};

fn run_with(defs: &[(&str, &str)], src: &str, data: Value) -> Result<String, String> {
    let mut set = TemplateSet::new(Limits::default());
    for (name, text) in defs {
        set.add(name, text).map_err(|e| e.to_string())?;
    }
    set.add("t", src).map_err(|e| e.to_string())?;
    set.execute("t", &data).map_err(|e| e.to_string())
}

fn run(src: &str, data: Value) -> String {
    match run_with(&[], src, data) {
        Ok(s) => s,
        Err(e) => panic!("{src:?} failed: {e}"),
    }
}

fn fails(src: &str, data: Value) -> String {
    match run_with(&[], src, data) {
        Ok(s) => panic!("{src:?} should fail, rendered {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn trim_markers_and_comments() {
    assert_eq!(run("a  {{- 1 -}}  b", json!({})), "a1b");
    assert_eq!(run("a\n  {{- 1 }}\n b", json!({})), "a1\n b");
    assert_eq!(run("x {{/* comment */}} y", json!({})), "x  y");
    assert_eq!(run("x\n{{- /* comment */ -}}\ny", json!({})), "xy");
    assert_eq!(run("{{-3}}", json!({})), "-3");
    assert_eq!(run("{{ 3 -}}\n\n4", json!({})), "34");
}

#[test]
fn literals() {
    assert_eq!(run(r#"{{ "a\tb\u00e9\x41" }}"#, json!({})), "a\tbéA");
    assert_eq!(run("{{ `raw\\n` }}", json!({})), "raw\\n");
    assert_eq!(
        run(
            "{{ 'a' }} {{ 0x10 }} {{ 1.5 }} {{ 1e3 }} {{ true }} {{ nil | print }}",
            json!({})
        ),
        "97 16 1.5 1000 true <nil>"
    );
    assert_eq!(run(r#"{{ print "a" 1 2 "b" }}"#, json!({})), "a1 2b");
    assert_eq!(run(r#"{{ println 1 "x" }}"#, json!({})), "1 x\n");
}

#[test]
fn go_number_printing() {
    // Values files give float64: Helm prints 1 as 1, 1000000 as 1e+06.
    let data = json!({"one": 1.0, "big": 1000000.0, "half": 0.5, "i": 1000000, "tiny": 0.00001, "n": 123456.0});
    assert_eq!(
        run(
            "{{ .one }} {{ .big }} {{ .half }} {{ .i }} {{ .tiny }} {{ .n }}",
            data.clone()
        ),
        "1 1e+06 0.5 1000000 1e-05 123456"
    );
    assert_eq!(
        run(
            "{{ .big | int }} {{ .big | quote }} {{ .big | toString }}",
            data.clone()
        ),
        "1000000 \"1e+06\" 1e+06"
    );
    assert_eq!(
        run("{{ toYaml . }}", json!({"big": 1000000.0, "f": 1.5})),
        "big: 1000000\nf: 1.5"
    );
    assert_eq!(
        run("{{ toJson . }}", json!({"big": 1000000.0, "s": "<&>"})),
        r#"{"big":1000000,"s":"\u003c\u0026\u003e"}"#
    );
    assert_eq!(
        run(
            "{{ add 1 2 }} {{ mul 2 .one }} {{ div 7 2 }} {{ mod 7 2 }} {{ max 1 5 3 }} {{ sub 1 3 }}",
            data
        ),
        "3 2 3 1 5 -2"
    );
}

#[test]
fn missing_keys_print_nothing_and_nil_fields_error() {
    assert_eq!(run("[{{ .missing }}]", json!({})), "[]");
    assert_eq!(run("[{{ .a.missing }}]", json!({"a": {}})), "[]");
    let e = fails("{{ .a.b.c }}", json!({"a": {}}));
    assert!(e.contains("nil pointer evaluating interface {}.c"), "{e}");
    assert!(e.starts_with("template: t:1:"), "{e}");
    assert_eq!(
        run("{{ index . \"a\" \"b\" }}", json!({"a": {"b": 7}})),
        "7"
    );
    assert_eq!(run("{{ printf \"%v\" .x }}", json!({})), "<nil>");
    assert_eq!(
        run("{{ . }}", json!({"a": 1, "b": [1, "x"]})),
        "map[a:1 b:[1 x]]"
    );
}

#[test]
fn truthiness_if_else_chains() {
    let t = "{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}";
    assert_eq!(run(t, json!({"a": 1})), "A");
    assert_eq!(run(t, json!({"a": 0, "b": "x"})), "B");
    assert_eq!(run(t, json!({"a": [], "b": {}})), "C");
    assert_eq!(run(t, json!({"a": 0.0, "b": ""})), "C");
    assert_eq!(
        run(
            "{{ if and .a .b }}y{{ else }}n{{ end }}",
            json!({"a": 1, "b": 0})
        ),
        "n"
    );
    assert_eq!(run("{{ or .a .b \"d\" }}", json!({"a": 0, "b": ""})), "d");
    assert_eq!(run("{{ and 1 2 }}", json!({})), "2");
    // and/or short-circuit: the failing call is never made.
    assert_eq!(
        run("{{ if or true (fail \"no\") }}ok{{ end }}", json!({})),
        "ok"
    );
    assert_eq!(run("{{ not .x }}", json!({})), "true");
}

#[test]
fn with_changes_dot_and_else() {
    assert_eq!(
        run("{{ with .a }}{{ .b }}{{ end }}", json!({"a": {"b": "x"}})),
        "x"
    );
    assert_eq!(
        run(
            "{{ with .none }}x{{ else }}{{ .y }}{{ end }}",
            json!({"y": "dot kept"})
        ),
        "dot kept"
    );
    assert_eq!(
        run(
            "{{ with .a }}{{ $.top }}{{ end }}",
            json!({"a": 1, "top": "T"})
        ),
        "T"
    );
    assert_eq!(
        run(
            "{{ with .x }}1{{ else with .y }}{{ . }}{{ end }}",
            json!({"y": 2})
        ),
        "2"
    );
}

#[test]
fn range_lists_maps_ints_break_continue() {
    assert_eq!(
        run("{{ range . }}{{ . }},{{ end }}", json!([1, 2, 3])),
        "1,2,3,"
    );
    assert_eq!(
        run(
            "{{ range $i, $v := . }}{{ $i }}={{ $v }};{{ end }}",
            json!(["a", "b"])
        ),
        "0=a;1=b;"
    );
    // Map keys in sorted order.
    assert_eq!(
        run(
            "{{ range $k, $v := . }}{{ $k }}:{{ $v }} {{ end }}",
            json!({"z": 1, "a": 2, "m": 3})
        ),
        "a:2 m:3 z:1 "
    );
    assert_eq!(
        run(
            "{{ range $v := . }}{{ $v }}{{ end }}",
            json!({"b": 1, "a": 2})
        ),
        "21"
    );
    assert_eq!(
        run("{{ range .none }}x{{ else }}empty{{ end }}", json!({})),
        "empty"
    );
    assert_eq!(run("{{ range 3 }}{{ . }}{{ end }}", json!({})), "012");
    assert_eq!(
        run(
            "{{ range . }}{{ if eq . 3 }}{{ break }}{{ end }}{{ if eq . 1 }}{{ continue }}{{ end }}{{ . }}{{ end }}",
            json!([0, 1, 2, 3, 4])
        ),
        "02"
    );
    assert_eq!(
        run(
            "{{ range until 3 }}{{ . }}{{ end }}{{ range untilStep 10 0 -4 }}{{ . }} {{ end }}",
            json!({})
        ),
        "01210 6 2 "
    );
    assert!(
        fails(
            "{{ range 5 | int }}{{ end }}{{ range \"x\" }}{{ end }}",
            json!({})
        )
        .contains("range can't iterate over x")
    );
}

#[test]
fn variables_scoping_and_assignment() {
    assert_eq!(
        run(
            "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}",
            json!({})
        ),
        "2"
    );
    let e = fails("{{ if true }}{{ $y := 3 }}{{ end }}{{ $y }}", json!({}));
    assert!(e.contains("undefined variable \"$y\""), "{e}");
    assert_eq!(
        run(
            "{{ $x := \"out\" }}{{ range . }}{{ $x := . }}{{ end }}{{ $x }}",
            json!([1])
        ),
        "out"
    );
    assert_eq!(
        run(
            "{{ $.a }}{{ with .b }}{{ $.a }}{{ end }}",
            json!({"a": "A", "b": 1})
        ),
        "AA"
    );
    assert_eq!(
        run(
            "{{ $d := dict \"k\" 1 }}{{ $_ := set $d \"k\" 2 }}{{ $d.k }}",
            json!({})
        ),
        "2"
    );
    assert_eq!(run("{{ (dict \"a\" (dict \"b\" 5)).a.b }}", json!({})), "5");
}

#[test]
fn comparisons_follow_go() {
    assert_eq!(
        run(
            "{{ eq 1 1 }} {{ eq \"a\" \"b\" \"a\" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ ge \"b\" \"a\" }} {{ eq .x nil }}",
            json!({})
        ),
        "true true true true true true"
    );
    // A float64 from values compared with an int literal is an error in Go (and Helm).
    let e = fails("{{ eq .n 1 }}", json!({"n": 1.0}));
    assert!(e.contains("incompatible types for comparison"), "{e}");
    assert_eq!(run("{{ eq (int .n) 1 }}", json!({"n": 1.0})), "true");
    assert!(fails("{{ lt .l 1 }}", json!({"l": [1]})).contains("comparison"));
}

#[test]
fn define_template_block_include_nindent() {
    let defs = [(
        "_h.tpl",
        "{{- define \"labels\" -}}\napp: {{ .name }}\ntier: web\n{{- end }}",
    )];
    let t = "metadata:\n  labels:\n    {{- include \"labels\" . | nindent 4 }}\n";
    assert_eq!(
        run_with(&defs, t, json!({"name": "x"})).unwrap(),
        "metadata:\n  labels:\n    app: x\n    tier: web\n"
    );
    assert_eq!(
        run_with(&defs, "{{ template \"labels\" . }}", json!({"name": "y"})).unwrap(),
        "app: y\ntier: web"
    );
    assert_eq!(
        run("{{ block \"b\" . }}default {{ . }}{{ end }}", json!(1)),
        "default 1"
    );
    assert_eq!(
        run(
            "{{ define \"x\" }}X{{ end }}{{ include \"x\" . | indent 2 }}",
            json!({})
        ),
        "  X"
    );
    let e = run_with(&[], "{{ include \"nope\" . }}", json!({})).unwrap_err();
    assert!(e.contains("no template \"nope\""), "{e}");
}

#[test]
fn tpl_renders_strings_with_context() {
    let data = json!({"Values": {"name": "app", "tmpl": "{{ .Values.name }}-suffix"}});
    assert_eq!(run("{{ tpl .Values.tmpl . }}", data), "app-suffix");
    assert_eq!(
        run(
            "{{ tpl \"{{ define \\\"d\\\" }}D{{ end }}{{ include \\\"d\\\" . }}\" . }}",
            json!({})
        ),
        "D"
    );
    let e = run_with(&[], "{{ tpl \"{{ .a.b.c }}\" . }}", json!({})).unwrap_err();
    assert!(e.contains("nil pointer"), "{e}");
}

#[test]
fn required_and_fail_messages() {
    let e = fails(
        "line1\n{{ required \"image.tag is required\" .Values.tag }}",
        json!({"Values": {}}),
    );
    assert_eq!(e, "execution error at (t:2:4): image.tag is required");
    let e = fails("{{ required \"x needed\" \"\" }}", json!({}));
    assert!(e.contains("x needed"));
    assert_eq!(run("{{ required \"m\" 0 }}", json!({})), "0");
    assert_eq!(
        fails("{{ fail \"boom\" }}", json!({})),
        "execution error at (t:1:4): boom"
    );
}

#[test]
fn default_and_empty() {
    assert_eq!(
        run(
            "{{ .x | default \"d\" }}|{{ \"\" | default \"d\" }}|{{ 0 | default 5 }}|{{ false | default \"f\" }}|{{ list | default \"l\" }}|{{ \"v\" | default \"d\" }}",
            json!({})
        ),
        "d|d|5|f|l|v"
    );
    assert_eq!(
        run(
            "{{ empty .x }} {{ empty 0 }} {{ empty \"a\" }} {{ empty (dict) }} {{ coalesce .a \"\" \"c\" }} {{ ternary \"y\" \"n\" true }}",
            json!({})
        ),
        "true true false true c y"
    );
}

#[test]
fn string_functions() {
    assert_eq!(
        run(
            "{{ quote \"a\\\"b\" }} {{ squote \"x\" }} {{ cat \"a\" 1 .nil \"b\" }}",
            json!({})
        ),
        "\"a\\\"b\" 'x' a 1 b"
    );
    assert_eq!(
        run(
            "{{ \"  x  \" | trim }}|{{ trimSuffix \"-\" \"ab-\" }}|{{ trimPrefix \"a\" \"ab\" }}|{{ trimAll \"$\" \"$5$\" }}",
            json!({})
        ),
        "x|ab|b|5"
    );
    assert_eq!(
        run(
            "{{ trunc 3 \"abcdef\" }} {{ trunc -2 \"abcdef\" }} {{ trunc 10 \"ab\" }}",
            json!({})
        ),
        "abc ef ab"
    );
    assert_eq!(
        run(
            "{{ lower \"AB\" }} {{ upper \"ab\" }} {{ title \"hello world\" }} {{ replace \"+\" \"_\" \"1+2+3\" }}",
            json!({})
        ),
        "ab AB Hello World 1_2_3"
    );
    assert_eq!(
        run(
            "{{ contains \"b\" \"abc\" }} {{ hasPrefix \"a\" \"abc\" }} {{ hasSuffix \"c\" \"abc\" }} {{ repeat 3 \"ab\" }} {{ substr 1 3 \"abcd\" }} {{ nospace \"a b\\tc\" }}",
            json!({})
        ),
        "true true true ababab bc abc"
    );
    assert_eq!(
        run(
            "{{ b64enc \"hello\" }} {{ b64dec \"aGVsbG8=\" }} {{ sha256sum \"abc\" | trunc 8 }}",
            json!({})
        ),
        "aGVsbG8= hello ba7816bf"
    );
    assert_eq!(
        run(
            "{{ printf \"%s-%d-%05.2f-%q-%x-%t-%v-%5s|%-3s|\" \"a\" 7 3.14159 \"q\" 255 true .m \"r\" \"l\" }}",
            json!({"m": {"k": 1}})
        ),
        "a-7-03.14-\"q\"-ff-true-map[k:1]-    r|l  |"
    );
    assert_eq!(
        run(
            "{{ join \",\" (list 1 \"a\" 2) }} {{ splitList \",\" \"a,b\" | last }} {{ (split \"-\" \"x-y\")._1 }}",
            json!({})
        ),
        "1,a,2 b y"
    );
    assert_eq!(
        run(
            "{{ atoi \"42\" | add 1 }} {{ int \"12\" }} {{ float64 \"1.5\" }} {{ int64 3.9 }}",
            json!({})
        ),
        "43 12 1.5 3"
    );
    assert_eq!(
        run("{{ indent 2 \"a\\nb\" }}|{{ nindent 2 \"a\" }}", json!({})),
        "  a\n  b|\n  a"
    );
}

#[test]
fn list_and_dict_functions() {
    assert_eq!(
        run(
            "{{ list 1 2 3 | first }} {{ list 1 2 3 | last }} {{ rest (list 1 2 3) }} {{ initial (list 1 2 3) }}",
            json!({})
        ),
        "1 3 [2 3] [1 2]"
    );
    assert_eq!(
        run(
            "{{ append (list 1) 2 }} {{ prepend (list 1) 0 }} {{ concat (list 1) (list 2 3) }} {{ has 2 (list 1 2) }}",
            json!({})
        ),
        "[1 2] [0 1] [1 2 3] true"
    );
    assert_eq!(
        run(
            "{{ without (list 1 2 1 3) 1 }} {{ uniq (list 1 2 1) }} {{ compact (list 1 \"\" 0 2) }} {{ sortAlpha (list \"b\" \"a\") }}",
            json!({})
        ),
        "[2 3] [1 2] [1 2] [a b]"
    );
    assert_eq!(
        run(
            "{{ $d := dict \"a\" 1 \"b\" 2 }}{{ keys $d }} {{ values $d }} {{ hasKey $d \"a\" }} {{ get $d \"b\" }} {{ get $d \"z\" }}|{{ unset $d \"a\" }}",
            json!({})
        ),
        "[a b] [1 2] true 2 |map[b:2]"
    );
    assert_eq!(
        run(
            "{{ pluck \"a\" (dict \"a\" 1) (dict \"b\" 2) (dict \"a\" 3) }} {{ dig \"x\" \"y\" \"def\" . }} {{ dig \"p\" \"q\" \"def\" . }}",
            json!({"x": {"y": "found"}})
        ),
        "[1 3] found def"
    );
    assert_eq!(
        run(
            "{{ merge (dict \"a\" 1 \"n\" (dict \"x\" 1)) (dict \"a\" 2 \"b\" 3 \"n\" (dict \"x\" 9 \"y\" 2)) }}",
            json!({})
        ),
        "map[a:1 b:3 n:map[x:1 y:2]]"
    );
    assert_eq!(
        run(
            "{{ mergeOverwrite (dict \"a\" 1 \"n\" (dict \"x\" 1)) (dict \"a\" 2 \"n\" (dict \"y\" 2)) }}",
            json!({})
        ),
        "map[a:2 n:map[x:1 y:2]]"
    );
    assert_eq!(
        run(
            "{{ $a := dict \"k\" (dict \"v\" 1) }}{{ $b := deepCopy $a }}{{ $_ := set $b.k \"v\" 2 }}{{ $a.k.v }}{{ $b.k.v }}",
            json!({})
        ),
        "12"
    );
    assert_eq!(
        run(
            "{{ len (list 1 2) }} {{ len \"abc\" }} {{ len . }} {{ index (list 5 6) 1 }} {{ slice (list 1 2 3) 1 }} {{ slice \"hello\" 1 3 }}",
            json!({"a": 1})
        ),
        "2 3 1 6 [2 3] el"
    );
    assert_eq!(
        run(
            "{{ toStrings (list 1 \"a\") }} {{ kindOf (list) }} {{ kindIs \"map\" . }} {{ typeOf 1.5 }} {{ typeOf \"s\" }}",
            json!({})
        ),
        "[1 a] slice true float64 string"
    );
}

#[test]
fn yaml_json_round_trips() {
    let data = json!({"v": {"b": [1, {"x": "y", "z": [true, [1, 2]]}], "a": "text: with colon", "empty": {}, "l": [], "multi": "l1\nl2\n", "num": "123", "t": "true", "n": null}});
    let y = run("{{ toYaml .v }}", data.clone());
    let expected = "a: \"text: with colon\"\nb:\n- 1\n- x: \"y\"\n  z:\n  - true\n  - - 1\n    - 2\nempty: {}\nl: []\nmulti: |\n  l1\n  l2\n\"n\": null\nnum: \"123\"\nt: \"true\"";
    assert_eq!(y, expected);
    // toYaml | fromYaml gives the value back (numbers as float64, as in Helm).
    assert_eq!(
        run("{{ toYaml .v | fromYaml | toJson }}", data.clone()),
        run("{{ toJson .v }}", data.clone())
    );
    assert_eq!(
        run(
            "{{ (fromYaml \"a: [1, 2]\").a }} {{ (fromJson \"{\\\"k\\\": 1}\").k | typeOf }}",
            json!({})
        ),
        "[1 2] float64"
    );
    assert_eq!(
        run("{{ (fromYaml \"a: [\").Error | empty }}", json!({})),
        "false"
    );
    assert_eq!(
        run("{{ toPrettyJson (dict \"a\" (list 1)) }}", json!({})),
        "{\n  \"a\": [\n    1\n  ]\n}"
    );
    assert_eq!(
        run(
            "{{ lookup \"v1\" \"Secret\" \"ns\" \"name\" | len }}",
            json!({})
        ),
        "0"
    );
}

#[test]
fn unsupported_function_names_file_and_line() {
    let mut set = TemplateSet::new(Limits::default());
    let e = set
        .add(
            "mychart/templates/deployment.yaml",
            "a: 1\nb: {{ toToml .Values }}\n",
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "mychart/templates/deployment.yaml:2: function \"toToml\" is not supported by cutover's chart renderer"
    );
    let e = set.add("x.yaml", "{{ if }}").unwrap_err();
    assert!(e.to_string().starts_with("x.yaml:1:"), "{e}");
    let e = set.add("x.yaml", "{{ if .a }}").unwrap_err();
    assert!(e.to_string().contains("no end"), "{e}");
}

#[test]
fn work_is_bounded() {
    let e = run_with(
        &[],
        "{{ define \"r\" }}{{ include \"r\" . }}{{ end }}{{ include \"r\" . }}",
        json!({}),
    )
    .unwrap_err();
    assert!(e.contains("nested deeper than 64"), "{e}");
    let e = fails("{{ range until 100000000 }}{{ end }}", json!({}));
    assert!(e.contains("exceeds the limit"), "{e}");
    let e = fails("{{ repeat 100000000 \"xx\" }}", json!({}));
    assert!(e.contains("longer than"), "{e}");
    let e = fails(
        "{{ $s := \"xxxxxxxxxxxxxxxx\" }}{{ range until 30 }}{{ $s = cat $s $s }}{{ end }}",
        json!({}),
    );
    assert!(e.contains("bytes"), "{e}");
    let limits = Limits {
        max_steps: 1000,
        ..Limits::default()
    };
    let mut set = TemplateSet::new(limits);
    set.add("t", "{{ range until 5000 }}x{{ end }}").unwrap();
    let e = set.execute("t", &json!({})).unwrap_err();
    assert!(e.to_string().contains("steps"), "{e}");
    let e = fails(
        "{{ $d := dict }}{{ $_ := set $d \"me\" $d }}{{ toJson $d }}{{ $d }}",
        json!({}),
    );
    assert!(e.contains("cyclic"), "{e}");
}

#[test]
fn garbage_never_panics() {
    // A deterministic pseudo-random walk over template-ish fragments.
    let pieces = [
        "{{", "}}", "{{-", "-}}", " ", ".", ".a", "$", "$x", ":=", "=", "|", "(", ")", "\"", "`",
        "'", "if", "else", "end", "range", "with", "define", "template", "block", "include", "tpl",
        "printf", "%", "1", "-1", "1.5e9", "nil", "true", "/*", "*/", "\n", "x", "dict", "list",
        "index", "slice", "len", "break", "continue", ",", "\\", "toYaml", "fromYaml", "eq", "{",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..3000 {
        let mut src = String::new();
        for _ in 0..(seed % 24) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            src.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        let mut set = TemplateSet::new(Limits {
            max_steps: 10_000,
            ..Limits::default()
        });
        if set.add("g", &src).is_ok() {
            let _ = set.execute("g", &json!({"a": {"b": [1, 2]}, "s": "x"}));
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    // Parentheses and blocks deeper than the parser allows.
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(500), ")".repeat(500));
    assert!(
        run_with(&[], &parens, json!({}))
            .unwrap_err()
            .contains("nested deeper")
    );
    let ifs = format!(
        "{}x{}",
        "{{ if true }}".repeat(500),
        "{{ end }}".repeat(500)
    );
    assert!(
        run_with(&[], &ifs, json!({}))
            .unwrap_err()
            .contains("nested deeper")
    );
    // Blocks inside recursive includes: the combined nesting limit stops it.
    let body = format!(
        "{{{{ define \"r\" }}}}{}{{{{ include \"r\" . }}}}{}{{{{ end }}}}",
        "{{ if true }}".repeat(20),
        "{{ end }}".repeat(20)
    );
    let e = run_with(&[("d", &body)], "{{ include \"r\" . }}", json!({})).unwrap_err();
    assert!(e.contains("nested deeper than 150"), "{e}");
    // A value nested a million levels deep is built, refused when printed, and dropped safely.
    let e = fails(
        "{{ $l := list }}{{ range until 1000000 }}{{ $l = list $l }}{{ end }}{{ $l }}",
        json!({}),
    );
    assert!(e.contains("nested deeper"), "{e}");
    // Deeply nested YAML given to fromYaml is an error value, not a crash.
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let out = run_with(&[], "{{ (fromYaml .y).Error | empty }}", json!({"y": deep})).unwrap();
    assert_eq!(out, "false");
}
