package io.octostore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.octostore.client.ApiClient;
import io.octostore.client.ApiException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpHeaders;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OctoStoreExceptionTest {
  private static final ApiClient API = new ApiClient();
  private static final HttpHeaders NO_HEADERS = HttpHeaders.of(Map.of(), (a, b) -> true);

  private static OctoStoreException from(int status, String body) {
    return OctoStoreException.from(new ApiException(status, "HTTP " + status, NO_HEADERS, body), API);
  }

  @Test
  void readsTheProblemDocument() {
    OctoStoreException e = from(409, """
        {"type":"urn:octostore:problem:lease_not_current","title":"Lease not current","status":409,
         "detail":"The lease is not this lock's current lease.","code":"lease_not_current","request_id":"r1"}""");
    assertEquals(409, e.status());
    assertEquals("lease_not_current", e.code());
    assertTrue(e.is("lease_not_current"));
    assertEquals("r1", e.problem().orElseThrow().getRequestId());
    assertFalse(e.isTransient());
    assertTrue(e.getMessage().contains("lease_not_current"), e.getMessage());
  }

  @Test
  void keepsACodeThisSpecDoesNotListYet() {
    OctoStoreException e = from(400, "{\"code\":\"brand_new_code\",\"status\":400,\"title\":\"x\",\"type\":\"t\",\"request_id\":\"r\"}");
    assertEquals("brand_new_code", e.code());
    assertTrue(e.problem().isEmpty());
  }

  @Test
  void aBodyThatIsNoProblemKeepsOnlyTheStatus() {
    OctoStoreException e = from(502, "<html>bad gateway</html>");
    assertEquals(502, e.status());
    assertNull(e.code());
    assertTrue(e.isTransient());
  }

  @Test
  void noAnswerIsTransientWithStatusZero() {
    IOException cause = new ConnectException("refused");
    OctoStoreException e = OctoStoreException.from(new ApiException(cause), API);
    assertEquals(0, e.status());
    assertEquals("transport", e.code());
    assertTrue(e.isTransient());
    assertEquals(cause, e.getCause());
    assertTrue(e.getMessage().contains("refused"), e.getMessage());
  }

  @Test
  void lockTimeoutHasTheClientSideCode() {
    LockTimeoutException e = new LockTimeoutException("job", "tok_abc");
    assertEquals("timeout", e.code());
    assertEquals("tok_abc", e.holderId());
    assertEquals(0, e.status());
  }
}
