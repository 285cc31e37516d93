# frozen_string_literal: true

require 'json'
require 'net/http'
require 'socket'
require 'securerandom'
require 'time'
require 'octostore'
require_relative 'server'

module Conformance
  # Where the scenarios are: OCTOSTORE_CONFORMANCE_DIR, else sdk/conformance beside this SDK.
  def self.dir
    ENV.fetch('OCTOSTORE_CONFORMANCE_DIR') { File.expand_path('../../../conformance', __dir__) }
  end

  # Every scenario file, sorted by name.
  def self.scenarios
    files = Dir.glob(File.join(dir, 'scenarios', '*.json')).sort
    raise "no scenarios in #{dir}/scenarios (set OCTOSTORE_CONFORMANCE_DIR)" if files.empty?

    files.map { |f| JSON.parse(File.read(f)) }
  end

  # A step did not do what the scenario says.
  class Failure < StandardError; end

  # The client-side timeout of wait_lost and observe (a blocking lock's is LockTimeout).
  class Timeout < OctoStore::Error
    def code
      'timeout'
    end
  end

  # The error a with_lock body raises (body "raise" and "release_behind_then_raise").
  class UserError < StandardError; end

  # The class a user rescues for each code a scenario expects, so that an error carrying the
  # right code but of a more general class fails. A code missing here fails its step.
  ERROR_TYPES = {
    'invalid_lock_name' => OctoStore::InvalidLockName, 'invalid_request' => OctoStore::InvalidRequest,
    'invalid_ttl' => OctoStore::InvalidTTL, 'lease_not_current' => OctoStore::LeaseNotCurrent,
    'lock_limit_exceeded' => OctoStore::LockLimitExceeded, 'lock_lost' => OctoStore::LockLost,
    'max_holders_mismatch' => OctoStore::MaxHoldersMismatch, 'payload_too_large' => OctoStore::PayloadTooLarge,
    'session_not_found' => OctoStore::SessionLost, # an acquire through a session the server forgot
    'timeout' => OctoStore::LockTimeout, 'transport' => OctoStore::TransportError,
    'unauthorized' => OctoStore::Unauthorized,
    'user_error' => UserError # the block's own error, passed through unwrapped
  }.freeze

  Actor = Struct.new(:client, :token, :token_id, :account_id, :holder_id, :owner, keyword_init: true) do
    def fields
      { 'token_id' => token_id, 'account_id' => account_id, 'holder_id' => holder_id, 'owner' => owner }
    end
  end

  # A base URL nobody listens on: a port bound on 127.0.0.1 and closed again.
  def self.dead_url
    s = TCPServer.new('127.0.0.1', 0)
    port = s.addr[1]
    s.close
    "http://127.0.0.1:#{port}"
  end

  # Saved step results: the flat result, and the native handle (Lease, Election or Session).
  Saved = Struct.new(:result, :handle)

  COMMON = %w[op comment save expect expect_error background].freeze
  FIELDS = {
    'try_lock' => %w[actor lock ttl metadata auto_renew session lock_delay max_holders],
    'lock' => %w[actor lock ttl wait metadata auto_renew session lock_delay max_holders],
    'session_open' => %w[actor ttl], 'session_state' => %w[session], 'session_close' => %w[session],
    'session_orphan' => %w[session], 'prefix_index' => %w[actor prefix],
    'watch_prefix' => %w[actor prefix index wait],
    'renew' => %w[lease ttl], 'release' => %w[lease], 'lease_state' => %w[lease],
    'wait_lost' => %w[lease session timeout_ms], 'status' => %w[actor lock],
    'wait_until' => %w[actor lock until timeout_ms], 'watch' => %w[actor lock index wait],
    'list' => %w[actor], 'campaign' => %w[actor election value ttl wait],
    'leader' => %w[actor election], 'observe' => %w[actor election until_value timeout_ms],
    'resign' => %w[campaign], 'await' => %w[task timeout_ms],
    'with_lock' => %w[actor lock ttl wait body], 'close' => %w[lease timeout_ms],
    'server_pause' => [], 'server_resume' => [],
    'raw' => %w[actor method path query body body_text content_type]
  }.freeze

  # Runs one scenario through the Ruby helpers. The translation table of the suite's
  # operations to the helper is #execute; everything else is the harness.
  class Run
    def initialize(scenario)
      @scenario = scenario
      env = scenario.dig('server', 'env') || {}
      @dedicated = scenario.dig('server', 'dedicated') == true
      @server = @dedicated ? Server.new(env) : Servers.for(env)
      @actors = {}
      @accounts = {}
      @saved = {}
      @tasks = {}
      @leases = []
      @elections = []
      @sessions = []
      @mutex = Mutex.new
    end

    def run
      @scenario.fetch('actors').each { |label, spec| @actors[label] = make_actor(spec) }
      @scenario.fetch('steps').each_with_index do |step, i|
        run_step(step)
      rescue Failure => e
        raise Failure, "#{@scenario['name']} step #{i} #{JSON.generate(step)[0, 300]}: #{e.message}"
      end
    ensure
      cleanup
      @server.stop if @dedicated
    end

    private

    # --- actors ---------------------------------------------------------------------

    def make_actor(spec)
      if spec.key?('account')
        label = spec['account']
        issued = if @accounts.key?(label)
                   @server.admin_post("/admin/accounts/#{@accounts[label]}/tokens", nil)
                 else
                   @server.admin_post('/admin/accounts', { 'name' => "#{label}-#{SecureRandom.hex(6)}" })
                 end
        @accounts[label] ||= issued['account_id']
        actor(issued['token'], issued['token_id'], issued['account_id'], spec['owner'], spec['urls'])
      elsif spec.key?('same_token_as')
        base = @actors.fetch(spec['same_token_as']) { raise Failure, "unknown actor #{spec['same_token_as']}" }
        actor(base.token, base.token_id, base.account_id, spec['owner'], spec['urls'])
      elsif spec.key?('token')
        Actor.new(client: OctoStore::Client.new(@server.base_url, token: spec['token']), token: spec['token'])
      elsif spec['anonymous']
        Actor.new
      else
        raise Failure, "unknown actor form #{spec.inspect}"
      end
    end

    def actor(token, token_id, account_id, owner, urls)
      base = case urls
             when nil then @server.base_url
             when 'dead_first' then [Conformance.dead_url, @server.base_url]
             when 'dead_only' then [Conformance.dead_url]
             else raise Failure, "unknown urls #{urls.inspect}"
             end
      client = OctoStore::Client.new(base, token: token, owner: owner)
      Actor.new(client: client, token: token, token_id: token_id, account_id: account_id,
                holder_id: "#{token_id}/#{client.owner}", owner: client.owner)
    end

    # --- steps ----------------------------------------------------------------------

    def run_step(raw_step)
      op = raw_step['op']
      allowed = FIELDS.fetch(op) { raise Failure, "unknown op #{op.inspect}" }
      unknown = raw_step.keys - COMMON - allowed
      raise Failure, "unknown fields #{unknown}" unless unknown.empty?

      step = resolve(raw_step)
      if step['background']
        start_task(step)
        return
      end
      outcome = op == 'await' ? await(step) : capture { execute(step) }
      check(step, outcome)
    end

    def capture
      [:ok, yield]
    rescue OctoStore::Error, UserError => e
      [:error, e]
    end

    def code_of(err)
      err.is_a?(UserError) ? 'user_error' : err.code
    end

    def check(step, outcome)
      kind, value = outcome
      want = step['expect_error']
      if kind == :error
        raise Failure, "raised #{value.class}: #{value.message}" unless want

        raise Failure, "error code #{code_of(value).inspect}, want #{want['code'].inspect} (#{value.class}: #{value.message})" if code_of(value) != want['code']
        check_type(value, want['code'])
        if want['message_matches'] && !Regexp.new(want['message_matches']).match?(value.message)
          raise Failure, "error message #{value.message.inspect} does not match #{want['message_matches'].inspect}"
        end

        status = value.respond_to?(:status) ? value.status : nil
        raise Failure, "error status #{status.inspect}, want #{want['status']}" if want.key?('status') && status != want['status']

        return
      end
      raise Failure, "succeeded with #{describe(value.result)}, want error #{want['code']}" if want

      (step['expect'] || {}).each do |field, matcher|
        unless Matcher.holds?(matcher, value.result[field], value.result.key?(field))
          raise Failure, "#{field}: #{describe(value.result[field])} does not match #{JSON.generate(matcher)}; result #{describe(value.result)}"
        end
      end
      @saved[step['save']] = value if step['save']
    end

    def check_type(err, code)
      return if err.instance_of?(Timeout) # the runner's own: the helper returned, it did not raise

      type = ERROR_TYPES.fetch(code) { raise Failure, "no error type for code #{code.inspect}: add it to Conformance::ERROR_TYPES" }
      raise Failure, "error type #{err.class}, want #{type} (code #{code.inspect})" unless err.is_a?(type)
    end

    def start_task(step)
      name = step['background']
      thread = Thread.new { capture { execute(step) } }
      thread.report_on_exception = false
      @tasks[name] = thread
    end

    def await(step)
      thread = @tasks.fetch(step['task']) { raise Failure, "unknown task #{step['task']}" }
      raise Failure, "task #{step['task']} still running after #{step['timeout_ms']} ms" unless thread.join(step['timeout_ms'] / 1000.0)

      @tasks.delete(step['task'])
      thread.value
    end

    # The suite's operations, each through the helper (raw: Net::HTTP).
    def execute(step)
      case step['op']
      when 'try_lock' # try_acquire on the client, the session or a semaphore of either
        got = locker(step).try_acquire(**lock_options(step))
        if got.is_a?(OctoStore::Lease)
          track(got)
          Saved.new(acquired(got, actor_of(step)), got)
        else
          Saved.new({ 'acquired' => false, 'holder_id' => got.holder_id, 'expires_at' => got.expires_at,
                      'retry_after_ms' => got.retry_after_ms, 'available_at' => got.available_at })
        end
      when 'lock'
        lease = track(locker(step).lock(**lock_options(step), wait: step['wait']))
        Saved.new(acquired(lease, actor_of(step)), lease)
      when 'session_open' # Client#session: created, then kept alive by its thread
        s = client(step).session(ttl: step['ttl'])
        @mutex.synchronize { @sessions << s }
        Saved.new({ 'session_id' => s.id, 'expires_at' => s.expires_at }, s)
      when 'session_state'
        s = session(step)
        Saved.new({ 'lost' => s.lost?, 'session_id' => s.id })
      when 'session_close'
        raise Failure, 'Session#close did not delete the session' unless session(step).close

        Saved.new({})
      when 'session_orphan'
        session(step).orphan
        Saved.new({})
      when 'prefix_index'
        Saved.new({ 'index' => client(step).prefix_index(step['prefix']) })
      when 'watch_prefix' # Client#watch_prefix until its first answer, or the wait ends
        index = Integer(step['index'])
        got = nil
        client(step).watch_prefix(step['prefix'], index, timeout: step['wait']) do |answer|
          got = answer
          break
        end
        if got.nil?
          Saved.new({ 'index' => index, 'changes' => [], 'count' => 0, 'complete' => true })
        else
          changes = got.changes.map { |c| "#{c.name}:#{c.status}" }
          Saved.new({ 'index' => got.index, 'changes' => changes, 'count' => changes.size, 'complete' => got.complete })
        end
      when 'renew'
        lease = lease(step).renew(step['ttl'])
        Saved.new({ 'lease_id' => lease.lease_id, 'fencing_token' => lease.fencing_token,
                    'expires_at' => lease.expires_at, 'renew_after_ms' => lease.renew_after_ms })
      when 'release'
        res = lease(step).release
        Saved.new({ 'lease_id' => res[:lease_id], 'fencing_token' => res[:fencing_token] })
      when 'lease_state'
        l = lease(step)
        Saved.new({ 'lost' => l.lost?, 'lease_id' => l.lease_id, 'fencing_token' => l.fencing_token,
                    'expires_at' => l.expires_at })
      when 'wait_lost'
        handle = step['session'] ? session(step) : lease(step)
        raise Timeout, "#{step['session'] ? 'session' : 'lease'} not lost in time" unless handle.wait_lost(step['timeout_ms'] / 1000.0)

        Saved.new({ 'lost' => true })
      when 'status'
        Saved.new(state(client(step).status(step['lock'])))
      when 'wait_until'
        wait_until(step)
      when 'watch'
        Saved.new(state(client(step).watch(step['lock'], index: Integer(step['index']), wait: step['wait'])))
      when 'list'
        names = client(step).list.map(&:name)
        Saved.new({ 'names' => names, 'count' => names.size })
      when 'campaign'
        election = client(step).election(step['election'], ttl: step['ttl'])
        @mutex.synchronize { @elections << election }
        lease = track(election.campaign(step['value'], wait: step['wait']))
        Saved.new({ 'lease_id' => lease.lease_id, 'fencing_token' => lease.fencing_token,
                    'expires_at' => lease.expires_at, 'value' => lease.metadata }, election)
      when 'leader'
        Saved.new(leader(client(step).election(step['election']).leader))
      when 'observe'
        observe(step)
      when 'resign'
        saved = @saved.fetch(step['campaign']) { raise Failure, "unknown campaign #{step['campaign']}" }
        saved.handle.resign
        Saved.new({})
      when 'raw'
        Saved.new(raw(step))
      when 'with_lock'
        with_lock(step)
      when 'close'
        l = lease(step)
        t = Thread.new { l.close }
        t.report_on_exception = false
        raise Timeout, "close did not return within #{step['timeout_ms']} ms" unless t.join(step['timeout_ms'] / 1000.0)

        t.value
        Saved.new({})
      when 'server_pause'
        @server.pause
        Saved.new({})
      when 'server_resume'
        @server.resume
        Saved.new({})
      end
    end

    # What a try_lock or lock step acquires through: the actor's client, the saved session,
    # or a semaphore of either (max_holders); the lock name goes with the call except for
    # a semaphore, which has it.
    def locker(step)
      base = step['session'] ? session(step) : client(step)
      return base.semaphore(step['lock'], step['max_holders']) if step['max_holders']

      name = step['lock']
      Class.new do
        define_method(:try_acquire) { |**kw| base.try_acquire(name, **kw) }
        define_method(:lock) { |**kw| base.lock(name, **kw) }
      end.new
    end

    # The keywords of a lock step: ttl and auto_renew do not apply through a session.
    def lock_options(step)
      opts = { metadata: step['metadata'], lock_delay: step['lock_delay'] }
      return opts if step['session']

      opts.merge(ttl: step['ttl'], auto_renew: step.fetch('auto_renew', true))
    end

    def acquired(lease, actor)
      { 'acquired' => true, 'lease_id' => lease.lease_id, 'fencing_token' => lease.fencing_token,
        'expires_at' => lease.expires_at, 'renew_after_ms' => lease.renew_after_ms,
        'holder_id' => "#{actor.token_id}/#{actor.owner}" }
    end

    # with_lock: the helper's block form around the body the step names.
    def with_lock(step)
      held = nil
      c = client(step)
      c.with_lock(step['lock'], ttl: step['ttl'], wait: step.fetch('wait', 0)) do |lease|
        track(lease)
        held = lease
        case step['body']
        when 'return' then nil
        when 'raise' then raise UserError, 'the block failed'
        when 'release_behind_then_raise'
          release_behind(step, lease)
          raise UserError, 'the block failed after its lease was released behind its back'
        when 'release_behind_then_wait_lost'
          release_behind(step, lease)
          raise Failure, 'lease not reported lost within 10 s' unless lease.wait_lost(10)
        else raise Failure, "unknown body #{step['body'].inspect}"
        end
      end
      Saved.new({ 'ran' => true, 'lease_id' => held.lease_id, 'fencing_token' => held.fencing_token }, held)
    end

    def release_behind(step, lease)
      out = raw({ 'actor' => step['actor'], 'method' => 'POST',
                  'path' => "/locks/#{URI.encode_www_form_component(step['lock'])}/release",
                  'body' => { 'lease_id' => lease.lease_id } })
      raise Failure, "release behind the helper's back: #{describe(out)}" unless out['http_status'] == 200
    end

    def state(s)
      { 'name' => s.name, 'status' => s.status, 'revision' => s.revision, 'holder_id' => s.holder_id,
        'fencing_token' => s.fencing_token, 'expires_at' => s.expires_at, 'metadata' => s.metadata,
        'max_holders' => s.max_holders, 'holder_count' => s.holder_count, 'available_at' => s.available_at }
    end

    def leader(l)
      return { 'elected' => false, 'value' => nil, 'holder_id' => nil, 'fencing_token' => nil, 'revision' => nil } if l.nil?

      { 'elected' => true, 'value' => l.value, 'holder_id' => l.holder_id, 'fencing_token' => l.fencing_token,
        'revision' => l.revision }
    end

    def wait_until(step)
      c = client(step)
      deadline = monotonic + step['timeout_ms'] / 1000.0
      loop do
        last = state(c.status(step['lock']))
        return Saved.new(last) if step['until'].all? { |f, m| Matcher.holds?(m, last[f], last.key?(f)) }
        raise Failure, "wait_until: deadline passed; last status #{describe(last)}" if monotonic > deadline

        sleep 0.1
      end
    end

    def observe(step)
      want = step['until_value']
      election = client(step).election(step['election'])
      election.observe(timeout: step['timeout_ms'] / 1000.0) do |l|
        return Saved.new(leader(l)) if want.nil? ? l.nil? : (l && l.value == want)
      end
      raise Timeout, "observe: no leader with value #{want.inspect} in time"
    end

    def raw(step)
      uri = URI(@server.base_url + step['path'])
      uri.query = URI.encode_www_form(step['query']) if step['query']
      klass = { 'GET' => Net::HTTP::Get, 'POST' => Net::HTTP::Post, 'PUT' => Net::HTTP::Put,
                'DELETE' => Net::HTTP::Delete }.fetch(step['method'])
      req = klass.new(uri)
      token = step['actor'] && actor_of(step).token
      req['Authorization'] = "Bearer #{token}" if token
      if step.key?('body') || step.key?('body_text')
        req.body = step.key?('body') ? JSON.generate(step['body']) : step['body_text']
        req['Content-Type'] = step['content_type'] || 'application/json'
      end
      res = Net::HTTP.start(uri.host, uri.port, read_timeout: 30) { |http| http.request(req) }
      out = {
        'http_status' => res.code.to_i, 'content_type' => res['Content-Type']&.split(';')&.first&.strip,
        'www_authenticate' => res['WWW-Authenticate'], 'x_request_id' => res['X-Request-Id']
      }
      doc = begin
        JSON.parse(res.body.to_s)
      rescue JSON::ParserError
        nil
      end
      doc.is_a?(Hash) ? out.merge(doc) : out
    end

    # --- references -----------------------------------------------------------------

    REF = /\$\{([a-z][a-z0-9_]*)\.([a-z_]+)\}/.freeze

    def resolve(value)
      case value
      when Hash then value.transform_values { |v| resolve(v) }
      when Array then value.map { |v| resolve(v) }
      when String
        if (m = value.match(/\A#{REF}\z/))
          lookup(m[1], m[2])
        else
          value.gsub(REF) { lookup(Regexp.last_match(1), Regexp.last_match(2)).then { |v| v.is_a?(Time) ? v.utc.iso8601(3) : v.to_s } }
        end
      else value
      end
    end

    def lookup(name, field)
      source = if @saved.key?(name) then @saved[name].result
               elsif @actors.key?(name) then @actors[name].fields
               else raise Failure, "unknown reference ${#{name}.#{field}}"
               end
      raise Failure, "unknown reference ${#{name}.#{field}}" unless source.key?(field)

      source[field]
    end

    # --- handles and cleanup --------------------------------------------------------

    def actor_of(step)
      @actors.fetch(step['actor']) { raise Failure, "unknown actor #{step['actor']}" }
    end

    def client(step)
      actor_of(step).client or raise Failure, "actor #{step['actor']} has no client"
    end

    def lease(step)
      saved = @saved.fetch(step['lease']) { raise Failure, "unknown lease #{step['lease']}" }
      raise Failure, "#{step['lease']} is not a lease" unless saved.handle.is_a?(OctoStore::Lease)

      saved.handle
    end

    def session(step)
      saved = @saved.fetch(step['session']) { raise Failure, "unknown session #{step['session']}" }
      raise Failure, "#{step['session']} is not a session" unless saved.handle.is_a?(OctoStore::Session)

      saved.handle
    end

    def track(lease)
      @mutex.synchronize { @leases << lease }
      lease
    end

    def cleanup
      @tasks.each_value(&:kill)
      leases = @mutex.synchronize { @leases.dup }
      leases.each do |l|
        l.close
      rescue StandardError
        nil
      end
      @mutex.synchronize { @sessions.dup }.each(&:close)
    end

    def describe(value)
      JSON.generate(value.is_a?(Hash) ? value.transform_values { |v| v.is_a?(Time) ? v.utc.iso8601(3) : v } : (value.is_a?(Time) ? value.utc.iso8601(3) : value))
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end

  # The suite's matchers. Timestamps compare as instants, numbers numerically.
  module Matcher
    module_function

    def holds?(matcher, actual, _present)
      if matcher.is_a?(Hash)
        op, want = matcher.first
        case op
        when 'eq' then equal?(actual, want)
        when 'ne' then !equal?(actual, want)
        when 'gt', 'ge', 'lt', 'le'
          return false if actual.nil?

          a, w = comparable(actual, want)
          return false if a.nil? || w.nil?

          { 'gt' => a > w, 'ge' => a >= w, 'lt' => a < w, 'le' => a <= w }.fetch(op)
        when 'present' then want ? !actual.nil? : actual.nil?
        when 'matches' then actual.is_a?(String) && Regexp.new(want).match?(actual)
        else raise Failure, "unknown matcher #{op}"
        end
      else
        equal?(actual, matcher)
      end
    end

    def equal?(actual, want)
      return actual.nil? if want.nil?
      return false if actual.nil?

      if want.is_a?(Array)
        return actual.is_a?(Array) && actual.size == want.size && actual.zip(want).all? { |a, w| equal?(a, w) }
      end

      a, w = comparable(actual, want)
      a.nil? || w.nil? ? actual == want : a == w
    end

    # Brings two values to one comparable kind: both instants, or both numbers.
    def comparable(actual, want)
      if actual.is_a?(Time) || want.is_a?(Time)
        [instant(actual), instant(want)]
      elsif actual.is_a?(Numeric) && want.is_a?(Numeric)
        [actual, want]
      elsif actual.is_a?(String) && want.is_a?(String)
        [actual, want]
      else
        [nil, nil]
      end
    end

    def instant(v)
      return v if v.is_a?(Time)

      Time.iso8601(v.to_s)
    rescue ArgumentError
      nil
    end
  end
end
