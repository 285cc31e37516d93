using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace OctoStore.Tests
{
    /// <summary>A JSON object that keeps its members' order (actors are created in file order).</summary>
    public sealed class JsonObject : IEnumerable<KeyValuePair<string, object>>
    {
        private readonly List<KeyValuePair<string, object>> members = new List<KeyValuePair<string, object>>();

        public int Count
        {
            get { return members.Count; }
        }

        public object this[string key]
        {
            get
            {
                foreach (var m in members) if (m.Key == key) return m.Value;
                return null;
            }
            set
            {
                for (var i = 0; i < members.Count; i++)
                {
                    if (members[i].Key != key) continue;
                    members[i] = new KeyValuePair<string, object>(key, value);
                    return;
                }
                members.Add(new KeyValuePair<string, object>(key, value));
            }
        }

        public bool Has(string key)
        {
            foreach (var m in members) if (m.Key == key) return true;
            return false;
        }

        public IEnumerator<KeyValuePair<string, object>> GetEnumerator()
        {
            return members.GetEnumerator();
        }

        IEnumerator IEnumerable.GetEnumerator()
        {
            return GetEnumerator();
        }
    }

    /// <summary>
    /// A small strict JSON reader and writer for the scenario files and raw steps (the test
    /// runner must not depend on a package, and DataContractJsonSerializer reads only typed
    /// contracts). Objects are JsonObject, arrays List&lt;object&gt;, integers long, other
    /// numbers double.
    /// </summary>
    public static class Json
    {
        public static object Parse(string text)
        {
            var p = new Parser(text);
            var v = p.Value();
            p.SkipSpace();
            if (!p.AtEnd) throw p.Error("data after the JSON value");
            return v;
        }

        public static string Write(object v)
        {
            var sb = new StringBuilder();
            Write(sb, v);
            return sb.ToString();
        }

        private static void Write(StringBuilder sb, object v)
        {
            if (v == null)
            {
                sb.Append("null");
            }
            else if (v is string)
            {
                WriteString(sb, (string)v);
            }
            else if (v is bool)
            {
                sb.Append((bool)v ? "true" : "false");
            }
            else if (v is DateTimeOffset)
            {
                WriteString(sb, ((DateTimeOffset)v).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            }
            else if (v is JsonObject)
            {
                sb.Append('{');
                var first = true;
                foreach (var m in (JsonObject)v)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    WriteString(sb, m.Key);
                    sb.Append(':');
                    Write(sb, m.Value);
                }
                sb.Append('}');
            }
            else if (v is IList)
            {
                sb.Append('[');
                var first = true;
                foreach (var x in (IList)v)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    Write(sb, x);
                }
                sb.Append(']');
            }
            else if (v is double || v is float)
            {
                sb.Append(Convert.ToDouble(v).ToString("R", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(Convert.ToString(v, CultureInfo.InvariantCulture));
            }
        }

        private static void WriteString(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (var c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4"));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }

        private sealed class Parser
        {
            private readonly string s;
            private int i;

            public Parser(string s)
            {
                this.s = s;
            }

            public bool AtEnd
            {
                get { return i >= s.Length; }
            }

            public FormatException Error(string what)
            {
                return new FormatException("JSON: " + what + " at offset " + i);
            }

            public void SkipSpace()
            {
                while (i < s.Length && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
            }

            public object Value()
            {
                SkipSpace();
                if (AtEnd) throw Error("unexpected end");
                var c = s[i];
                if (c == '{') return Object();
                if (c == '[') return Array();
                if (c == '"') return String();
                if (c == 't') return Literal("true", true);
                if (c == 'f') return Literal("false", false);
                if (c == 'n') return Literal("null", null);
                return Number();
            }

            private object Literal(string word, object value)
            {
                if (string.CompareOrdinal(s, i, word, 0, word.Length) != 0) throw Error("bad literal");
                i += word.Length;
                return value;
            }

            private JsonObject Object()
            {
                var o = new JsonObject();
                i++;
                SkipSpace();
                if (i < s.Length && s[i] == '}')
                {
                    i++;
                    return o;
                }
                while (true)
                {
                    SkipSpace();
                    if (AtEnd || s[i] != '"') throw Error("expected a member name");
                    var key = String();
                    SkipSpace();
                    if (AtEnd || s[i] != ':') throw Error("expected ':'");
                    i++;
                    if (o.Has(key)) throw Error("duplicate member " + key);
                    o[key] = Value();
                    SkipSpace();
                    if (AtEnd) throw Error("unterminated object");
                    if (s[i] == ',')
                    {
                        i++;
                        continue;
                    }
                    if (s[i] == '}')
                    {
                        i++;
                        return o;
                    }
                    throw Error("expected ',' or '}'");
                }
            }

            private List<object> Array()
            {
                var a = new List<object>();
                i++;
                SkipSpace();
                if (i < s.Length && s[i] == ']')
                {
                    i++;
                    return a;
                }
                while (true)
                {
                    a.Add(Value());
                    SkipSpace();
                    if (AtEnd) throw Error("unterminated array");
                    if (s[i] == ',')
                    {
                        i++;
                        continue;
                    }
                    if (s[i] == ']')
                    {
                        i++;
                        return a;
                    }
                    throw Error("expected ',' or ']'");
                }
            }

            private string String()
            {
                var sb = new StringBuilder();
                i++;
                while (true)
                {
                    if (AtEnd) throw Error("unterminated string");
                    var c = s[i++];
                    if (c == '"') return sb.ToString();
                    if (c != '\\')
                    {
                        if (c < 0x20) throw Error("control character in string");
                        sb.Append(c);
                        continue;
                    }
                    if (AtEnd) throw Error("unterminated escape");
                    var e = s[i++];
                    switch (e)
                    {
                        case '"': sb.Append('"'); break;
                        case '\\': sb.Append('\\'); break;
                        case '/': sb.Append('/'); break;
                        case 'b': sb.Append('\b'); break;
                        case 'f': sb.Append('\f'); break;
                        case 'n': sb.Append('\n'); break;
                        case 'r': sb.Append('\r'); break;
                        case 't': sb.Append('\t'); break;
                        case 'u':
                            if (i + 4 > s.Length) throw Error("short \\u escape");
                            sb.Append((char)int.Parse(s.Substring(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                            i += 4;
                            break;
                        default: throw Error("bad escape");
                    }
                }
            }

            private object Number()
            {
                var start = i;
                if (i < s.Length && s[i] == '-') i++;
                while (i < s.Length && char.IsDigit(s[i])) i++;
                var integer = true;
                if (i < s.Length && s[i] == '.')
                {
                    integer = false;
                    i++;
                    while (i < s.Length && char.IsDigit(s[i])) i++;
                }
                if (i < s.Length && (s[i] == 'e' || s[i] == 'E'))
                {
                    integer = false;
                    i++;
                    if (i < s.Length && (s[i] == '+' || s[i] == '-')) i++;
                    while (i < s.Length && char.IsDigit(s[i])) i++;
                }
                var text = s.Substring(start, i - start);
                if (text.Length == 0 || text == "-") throw Error("unexpected character");
                long l;
                if (integer && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l)) return l;
                return double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            }
        }
    }
}
