package io.octostore.conformance;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** The suite's matchers: equality (null matches absent) or one operator object. */
final class Matchers {
  private Matchers() {}

  /** Null when every matcher holds, else a description of the first that does not. */
  static String check(Map<String, Object> actual, Map<String, Object> expect) {
    for (Map.Entry<String, Object> e : expect.entrySet()) {
      Object a = actual.get(e.getKey());
      if (!holds(a, e.getValue())) {
        return "field " + e.getKey() + ": got " + show(a) + ", want " + show(e.getValue());
      }
    }
    return null;
  }

  static boolean holds(Object actual, Object matcher) {
    if (!(matcher instanceof Map<?, ?> m)) {
      return equal(actual, matcher);
    }
    if (m.size() != 1) {
      throw new IllegalArgumentException("a matcher object has exactly one operator: " + m);
    }
    Map.Entry<?, ?> op = m.entrySet().iterator().next();
    Object v = op.getValue();
    switch ((String) op.getKey()) {
      case "eq":
        return equal(actual, v);
      case "ne":
        return !equal(actual, v);
      case "gt":
        return actual != null && compare(actual, v) > 0;
      case "ge":
        return actual != null && compare(actual, v) >= 0;
      case "lt":
        return actual != null && compare(actual, v) < 0;
      case "le":
        return actual != null && compare(actual, v) <= 0;
      case "present":
        return (actual != null) == Boolean.TRUE.equals(v);
      case "matches":
        return actual instanceof String s && Pattern.compile((String) v).matcher(s).find();
      default:
        throw new IllegalArgumentException("unknown matcher operator " + op.getKey());
    }
  }

  static boolean equal(Object a, Object e) {
    if (e == null || a == null) {
      return a == e;
    }
    if (a instanceof Number x && e instanceof Number y) {
      return decimal(x).compareTo(decimal(y)) == 0;
    }
    if (a instanceof Instant || e instanceof Instant) {
      Instant x = instant(a);
      Instant y = instant(e);
      return x != null && x.equals(y);
    }
    if (a instanceof List<?> x && e instanceof List<?> y) {
      if (x.size() != y.size()) {
        return false;
      }
      for (int i = 0; i < x.size(); i++) {
        if (!equal(x.get(i), y.get(i))) {
          return false;
        }
      }
      return true;
    }
    return a.equals(e);
  }

  /** Orders numbers numerically and timestamps as instants. */
  static int compare(Object a, Object v) {
    if (a instanceof Number x && v instanceof Number y) {
      return decimal(x).compareTo(decimal(y));
    }
    Instant x = instant(a);
    Instant y = instant(v);
    if (x == null || y == null) {
      throw new IllegalArgumentException("cannot order " + show(a) + " and " + show(v));
    }
    return x.compareTo(y);
  }

  static Instant instant(Object o) {
    if (o instanceof Instant i) {
      return i;
    }
    if (o instanceof String s) {
      try {
        return OffsetDateTime.parse(s).toInstant();
      } catch (DateTimeParseException e) {
        return null;
      }
    }
    return null;
  }

  private static BigDecimal decimal(Number n) {
    return new BigDecimal(n.toString());
  }

  static String show(Object o) {
    if (o instanceof String s) {
      return "\"" + s + "\"";
    }
    return String.valueOf(o);
  }
}
