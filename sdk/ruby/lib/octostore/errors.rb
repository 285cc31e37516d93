# frozen_string_literal: true

require 'json'
require 'socket'
require 'uri'

module OctoStore
  # Base class of every error the helpers raise. #code is machine-readable: a problem code
  # from the API (ProblemError) or "held", "timeout", "transport", "protocol".
  class Error < StandardError
    # @return [String]
    def code
      'error'
    end
  end

  # The server answered with an RFC 9457 problem document. #code is its stable code,
  # #status the HTTP status, #request_id the id to quote when reporting a problem, and
  # #retry_after the Retry-After header in seconds when the server sent one.
  class ProblemError < Error
    attr_reader :code, :status, :title, :detail, :request_id, :retry_after

    def initialize(code:, status:, title: nil, detail: nil, request_id: nil, retry_after: nil)
      @code = code
      @status = status
      @title = title
      @detail = detail
      @request_id = request_id
      @retry_after = retry_after
      text = "#{status} #{code}"
      text += ": #{detail}" if detail && !detail.empty?
      text += " (request #{request_id})" if request_id && !request_id.empty?
      super(text)
    end
  end

  # 400 invalid_request, invalid_lock_name or invalid_ttl.
  class InvalidRequest < ProblemError; end
  # 400 invalid_lock_name: names match ^[A-Za-z0-9.-]{1,128}$.
  class InvalidLockName < InvalidRequest; end
  # 400 invalid_ttl: TTLs are whole seconds from 1 to 3600.
  class InvalidTTL < InvalidRequest; end
  # 401 unauthorized: missing, unknown or rotated-away token.
  class Unauthorized < ProblemError; end
  # 404 not_found (and the admin API's account_not_found, admin_disabled).
  class NotFound < ProblemError; end
  # 409: the request conflicts with the lock's or the account's state.
  class Conflict < ProblemError; end
  # 409 lease_not_current: the lease expired, was released, or is another lock's.
  class LeaseNotCurrent < Conflict; end
  # 409 lock_limit_exceeded: the account holds its maximum of active locks.
  class LockLimitExceeded < Conflict; end
  # 409 max_holders_mismatch: the lock's holders (or its line, or its lock-delay) agreed on
  # another number of holders; every holder of a semaphore must ask for the same N.
  class MaxHoldersMismatch < Conflict; end
  # 409 session_limit_exceeded: the account has its maximum of sessions.
  class SessionLimitExceeded < Conflict; end
  # 409 session_mismatch: this holder holds the lock already, through another session or
  # none; release it first, or acquire it through the same session.
  class SessionMismatch < Conflict; end
  # 404 session_not_found: the session is unknown, expired or deleted; its locks are gone.
  class SessionNotFound < NotFound; end
  # 413 payload_too_large.
  class PayloadTooLarge < ProblemError; end
  # 415 unsupported_media_type.
  class UnsupportedMediaType < ProblemError; end
  # 429 rate_limited; see #retry_after.
  class RateLimited < ProblemError; end
  # 429 too_many_waiters: the bound on waiting requests (blocking acquires, watches) is
  # reached; see #retry_after.
  class TooManyWaiters < RateLimited; end
  # 503 unavailable: shutting down or cannot write; see #retry_after.
  class Unavailable < ProblemError; end
  # Any other 5xx.
  class ServerError < ProblemError; end

  # The request did not complete: connection refused or reset, or it timed out.
  class TransportError < Error
    def code
      'transport'
    end
  end

  # A response that does not match the API (a server of another version?).
  class ProtocolError < Error
    def code
      'protocol'
    end
  end

  # Client#try_acquire found the lock held by someone else (returned as a value, not
  # raised; Client#try_lock returns nil instead): #holder_id, #expires_at (when that lease
  # ends unless renewed) and #retry_after_ms (when trying again is worthwhile).
  #
  # While a lock-delay keeps the lock (its last lease expired, see the lock_delay: option)
  # nobody holds it: #holder_id is nil and #available_at says when it can be taken again.
  class LockHeld < Error
    attr_reader :name, :holder_id, :expires_at, :retry_after_ms, :available_at

    def initialize(name, holder_id, expires_at, retry_after_ms, available_at: nil)
      @name = name
      @holder_id = holder_id
      @expires_at = expires_at
      @retry_after_ms = retry_after_ms
      @available_at = available_at
      super(if holder_id.nil?
              "lock #{name.inspect} is kept by a lock-delay until #{available_at || expires_at}"
            else
              "lock #{name.inspect} is held by #{holder_id} until #{expires_at}"
            end)
    end

    # Whether a lock-delay, not a holder, keeps the lock.
    def delayed?
      holder_id.nil?
    end

    def code
      'held'
    end
  end

  # A blocking #lock or Election#campaign ran out of its wait before getting the lock.
  class LockTimeout < Error
    attr_reader :name, :waited

    def initialize(name, waited)
      @name = name
      @waited = waited
      super("lock #{name.inspect} not acquired within #{waited}s")
    end

    def code
      'timeout'
    end
  end

  # A with_lock block returned normally, but the lease was lost while it ran (#cause, and
  # #reason, say why): whatever the block did may have overlapped another holder.
  class LockLost < Error
    attr_reader :name, :reason

    def initialize(name, reason = nil)
      @name = name
      @reason = reason
      super("lock #{name.inspect} was lost while the block ran#{reason ? ": #{reason.message}" : ''}")
    end

    def cause
      @reason || super
    end

    def code
      'lock_lost'
    end
  end

  # A Session ended without Session#close: the server no longer knows it (#reason is its
  # SessionNotFound), or no renewal succeeded before it would have expired. Every lock
  # bound to it is gone. Raised by an acquire through the session, and by the block form
  # of Client#session when the block returned normally; #code and #status are the
  # server's (session_not_found, 404) when the server said so, else "session_lost".
  class SessionLost < Error
    attr_reader :session_id, :reason

    def initialize(session_id, reason = nil)
      @session_id = session_id
      @reason = reason
      super("session #{session_id} was lost#{reason ? ": #{reason.message}" : ''}")
    end

    def cause
      @reason || super
    end

    def code
      @reason.is_a?(ProblemError) ? @reason.code : 'session_lost'
    end

    # The HTTP status of the server's answer that ended the session, if one did.
    def status
      @reason.is_a?(ProblemError) ? @reason.status : nil
    end
  end

  # An acquire through a Session that was closed or orphaned.
  class SessionClosed < Error
    attr_reader :session_id

    def initialize(session_id, how = 'closed')
      @session_id = session_id
      super("session #{session_id} was #{how}")
    end

    def code
      'session_closed'
    end
  end

  # Attached to an exception that came out of a with_lock block when the release on the
  # way out failed as well: exception.release_error is that failure.
  module ReleaseError
    attr_accessor :release_error

    # Attaches err to exception (if it can be extended) and logs it.
    def self.attach(exception, err)
      warn "octostore: release after a failed block also failed: #{err.class}: #{err.message}"
      exception.extend(self)
      exception.release_error = err
    rescue StandardError
      nil
    end
  end

  # Turns the generated client's errors into the helpers' typed ones.
  module Errors
    PROBLEM_CLASSES = {
      'invalid_request' => InvalidRequest, 'invalid_lock_name' => InvalidLockName,
      'invalid_ttl' => InvalidTTL, 'unauthorized' => Unauthorized, 'not_found' => NotFound,
      'account_not_found' => NotFound, 'admin_disabled' => NotFound,
      'lease_not_current' => LeaseNotCurrent, 'lock_limit_exceeded' => LockLimitExceeded,
      'max_holders_mismatch' => MaxHoldersMismatch, 'session_not_found' => SessionNotFound,
      'session_limit_exceeded' => SessionLimitExceeded, 'session_mismatch' => SessionMismatch,
      'too_many_waiters' => TooManyWaiters, 'account_exists' => Conflict,
      'payload_too_large' => PayloadTooLarge,
      'unsupported_media_type' => UnsupportedMediaType, 'rate_limited' => RateLimited,
      'unavailable' => Unavailable, 'no_leader' => Unavailable
    }.freeze

    module_function

    # Runs the block (one generated API call to url) and translates what it raises.
    def translate(url = nil)
      yield
    rescue OctoStore::ApiError => e
      raise from_api_error(e, url)
    rescue ArgumentError, TypeError, JSON::ParserError => e
      raise ProtocolError, "response does not match the API: #{e.message}"
    end

    # @param e [OctoStore::ApiError]
    # @return [Error]
    def from_api_error(e, url = nil)
      status = e.code.to_i
      return TransportError.new(transport_message(e.message.lines.first.to_s.strip, url)) if status.zero?

      doc = begin
        JSON.parse(e.response_body.to_s)
      rescue JSON::ParserError
        nil
      end
      doc = {} unless doc.is_a?(Hash)
      code = doc['code'].is_a?(String) ? doc['code'] : (status >= 500 ? 'internal' : 'error')
      klass = PROBLEM_CLASSES.fetch(code) { status >= 500 ? ServerError : ProblemError }
      klass.new(code: code, status: status, title: doc['title'], detail: doc['detail'],
                request_id: doc['request_id'], retry_after: retry_after(e.response_headers))
    end

    # "<url>: <cause>", the cause in plain words ("connection refused") when libcurl's
    # message is vaguer: a failed connect is probed once with a plain socket for its errno.
    def transport_message(curl_message, url)
      return curl_message if url.nil?

      cause = curl_message
      if curl_message =~ /couldn't connect/i
        uri = URI.parse(url)
        begin
          Socket.tcp(uri.host, uri.port, connect_timeout: 1).close
        rescue SystemCallError => se
          cause = "#{se.message.sub(/ - connect\(2\).*/, '').downcase} (#{curl_message})"
        rescue StandardError
          nil
        end
      end
      "#{url}: #{cause}"
    end

    def retry_after(headers)
      return nil unless headers

      value = headers['Retry-After'] || headers['retry-after']
      value = value.first if value.is_a?(Array)
      Float(value) if value && value.to_s =~ /\A\d+(\.\d+)?\z/
    end
  end
end
