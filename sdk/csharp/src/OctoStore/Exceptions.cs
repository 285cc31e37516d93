using System;
using System.Globalization;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace OctoStore
{
    public partial class ApiException
    {
        /// <summary>The problem's stable machine-readable code (such as <c>lease_not_current</c>), or null when the body was not a problem document.</summary>
        public string Code
        {
            get { return Problem == null ? null : Problem.Code; }
        }

        /// <summary>The request id to quote when reporting a problem (also in the X-Request-Id header).</summary>
        public string RequestId
        {
            get { return Problem == null ? null : Problem.RequestId; }
        }

        /// <summary>"409 lease_not_current: detail (request id)".</summary>
        public override string Message
        {
            get
            {
                if (Problem == null) return base.Message;
                var text = StatusCode.ToString(CultureInfo.InvariantCulture) + " " + Problem.Code;
                if (!string.IsNullOrEmpty(Problem.Detail)) text += ": " + Problem.Detail;
                if (!string.IsNullOrEmpty(Problem.RequestId)) text += " (request " + Problem.RequestId + ")";
                return text;
            }
        }
    }

    /// <summary>Base class of the helpers' own outcomes: <see cref="LockTimeoutException"/>, <see cref="LockLostException"/>, <see cref="SessionLostException"/> (and the legacy <see cref="LockHeldException"/>). Server errors are <see cref="ApiException"/>; unreachable servers <see cref="TransportException"/>.</summary>
    public abstract class OctoStoreException : Exception
    {
        /// <summary>Creates the exception.</summary>
        protected OctoStoreException(string message) : base(message)
        {
        }

        /// <summary>A machine-readable code: <c>held</c>, <c>timeout</c>, <c>lock_lost</c>, or a <see cref="SessionLostException"/>'s.</summary>
        public abstract string Code { get; }
    }

    /// <summary>
    /// Someone else holds the lock: <see cref="HolderId"/>, <see cref="ExpiresAt"/> and
    /// <see cref="RetryAfterMs"/>. Kept for callers that throw it themselves; the helpers no
    /// longer do: <see cref="OctoStoreClient.TryLockAsync"/> returns null when the lock is held
    /// and <see cref="OctoStoreClient.TryAcquireAsync"/> says who holds it.
    /// </summary>
    public sealed class LockHeldException : OctoStoreException
    {
        /// <summary>Creates the exception.</summary>
        public LockHeldException(string name, string holderId, DateTimeOffset expiresAt, long? retryAfterMs)
            : base("lock '" + name + "' is held by " + holderId + " until " + expiresAt.ToString("o", CultureInfo.InvariantCulture))
        {
            Name = name;
            HolderId = holderId;
            ExpiresAt = expiresAt;
            RetryAfterMs = retryAfterMs;
        }

        /// <summary>The lock's name.</summary>
        public string Name { get; private set; }

        /// <summary>Who holds it.</summary>
        public string HolderId { get; private set; }

        /// <summary>When the holder's lease ends unless renewed.</summary>
        public DateTimeOffset ExpiresAt { get; private set; }

        /// <summary>When trying again is worthwhile, in milliseconds.</summary>
        public long? RetryAfterMs { get; private set; }

        /// <summary><c>held</c>.</summary>
        public override string Code
        {
            get { return "held"; }
        }
    }

    /// <summary>A blocking <see cref="OctoStoreClient.LockAsync"/> or <see cref="Election.CampaignAsync"/> ran out of its wait before getting the lock.</summary>
    public sealed class LockTimeoutException : OctoStoreException
    {
        /// <summary>Creates the exception.</summary>
        public LockTimeoutException(string name, TimeSpan waited)
            : base("lock '" + name + "' not acquired within " + waited.TotalSeconds.ToString(CultureInfo.InvariantCulture) + "s")
        {
            Name = name;
            Waited = waited;
        }

        /// <summary>The lock's name.</summary>
        public string Name { get; private set; }

        /// <summary>How long the call waited.</summary>
        public TimeSpan Waited { get; private set; }

        /// <summary><c>timeout</c>.</summary>
        public override string Code
        {
            get { return "timeout"; }
        }
    }

    /// <summary>
    /// A scoped block (<see cref="OctoStoreClient.WithLockAsync(string, Func{Lease, Task}, int, TimeSpan?, string, CancellationToken)"/>)
    /// returned normally but its lock was lost while it ran: the work may have overlapped another holder's.
    /// </summary>
    public sealed class LockLostException : OctoStoreException
    {
        /// <summary>Creates the exception.</summary>
        public LockLostException(string name, Exception reason)
            : base("lock '" + name + "' was lost while the block ran" + (reason == null ? "" : ": " + reason.Message))
        {
            Name = name;
            Reason = reason;
        }

        /// <summary>The lock's name.</summary>
        public string Name { get; private set; }

        /// <summary>Why the lease was lost (the refused renewal, say), or null.</summary>
        public Exception Reason { get; private set; }

        /// <summary><c>lock_lost</c>.</summary>
        public override string Code
        {
            get { return "lock_lost"; }
        }
    }

    /// <summary>
    /// A lock was asked for through a <see cref="Session"/> that is lost: the server no longer
    /// knows it, or no renewal got through before it would have expired. Its locks are gone;
    /// open a new session. <see cref="Code"/> is the server's problem code when the server said
    /// so (<c>session_not_found</c>, with <see cref="StatusCode"/> 404), else <c>session_lost</c>.
    /// </summary>
    public sealed class SessionLostException : OctoStoreException
    {
        /// <summary>Creates the exception.</summary>
        public SessionLostException(string sessionId, Exception reason)
            : base("session '" + sessionId + "' is lost" + (reason == null ? "" : ": " + reason.Message))
        {
            SessionId = sessionId;
            Reason = reason;
        }

        /// <summary>The session's id.</summary>
        public string SessionId { get; private set; }

        /// <summary>Why the session was lost: the server's refusal (an <see cref="ApiException"/>), or the last failed renewal.</summary>
        public Exception Reason { get; private set; }

        /// <summary><c>session_not_found</c> (or the server's other code) when the server ended it; <c>session_lost</c> when no renewal got through in time.</summary>
        public override string Code
        {
            get
            {
                var api = Reason as ApiException;
                return api != null && api.Code != null ? api.Code : "session_lost";
            }
        }

        /// <summary>The HTTP status of the server's refusal (404), or null when the session ran out without one.</summary>
        public int? StatusCode
        {
            get
            {
                var api = Reason as ApiException;
                return api == null ? (int?)null : api.StatusCode;
            }
        }
    }

    /// <summary>
    /// No base URL could be reached (connection refused, reset, a timeout, or 503 from every one).
    /// The message names the URL and the cause. Derives from HttpRequestException, which is what
    /// HttpClient throws for the same failures.
    /// </summary>
    public sealed class TransportException : HttpRequestException
    {
        /// <summary>Creates the exception.</summary>
        public TransportException(string url, string cause, Exception inner)
            : base(url + ": " + cause, inner)
        {
            Url = url;
            Cause = cause;
        }

        /// <summary>The URL last tried.</summary>
        public string Url { get; private set; }

        /// <summary>What went wrong, such as "connection refused".</summary>
        public string Cause { get; private set; }

        /// <summary><c>transport</c>.</summary>
        public string Code
        {
            get { return "transport"; }
        }
    }
}
