# frozen_string_literal: true

require 'fileutils'
require 'json'
require 'net/http'
require 'securerandom'
require 'tmpdir'

module Conformance
  # One octostore-lock process started as the conformance README's harness section says:
  # a fresh temporary directory, only PATH plus the harness's variables in its
  # environment, output to files, the address read from the `msg=listening` line.
  class Server
    LISTENING = /msg=listening addr=(\S+)/.freeze

    attr_reader :base_url, :admin_key

    def initialize(env)
      bin = ENV['OCTOSTORE_BIN'].to_s
      if bin.empty? || !File.executable?(bin)
        raise "OCTOSTORE_BIN must name the octostore-lock binary (go build -o bin/ ./cmd/octostore-lock); got #{bin.inspect}"
      end

      @dir = Dir.mktmpdir('octostore-conformance-')
      @admin_key = SecureRandom.hex(16)
      File.write(File.join(@dir, 'empty.env'), '')
      server_env = {
        'PATH' => ENV.fetch('PATH', '/usr/bin:/bin'),
        'ADMIN_KEY' => @admin_key,
        'DATABASE_URL' => File.join(@dir, 'octostore.db'),
        'ENV_FILE' => File.join(@dir, 'empty.env'),
        'LOG_LEVEL' => 'info',
        'LOG_FORMAT' => 'text'
      }.merge(env)
      @stdout = File.join(@dir, 'stdout.log')
      @stderr = File.join(@dir, 'stderr.log')
      @pid = Process.spawn(server_env, bin, '--bind-addr', '127.0.0.1:0',
                           chdir: @dir, out: [@stdout, 'w'], err: [@stderr, 'w'], unsetenv_others: true)
      @base_url = "http://#{wait_listening}"
    end

    # POST to the admin API; returns the parsed JSON body.
    def admin_post(path, body)
      uri = URI(@base_url + path)
      req = Net::HTTP::Post.new(uri)
      req['X-Admin-Key'] = @admin_key
      unless body.nil?
        req['Content-Type'] = 'application/json'
        req.body = JSON.generate(body)
      end
      res = Net::HTTP.start(uri.host, uri.port, read_timeout: 10) { |http| http.request(req) }
      raise "admin #{path}: HTTP #{res.code} #{res.body}" unless res.code.to_i == 201

      JSON.parse(res.body)
    end

    # SIGSTOP / SIGCONT the server (server_pause / server_resume).
    def pause
      Process.kill('STOP', @pid)
    end

    def resume
      Process.kill('CONT', @pid)
    end

    def stop
      return if @pid.nil?

      begin
        Process.kill('CONT', @pid)
        Process.kill('TERM', @pid)
        deadline = monotonic + 10
        until Process.waitpid(@pid, Process::WNOHANG)
          if monotonic > deadline
            Process.kill('KILL', @pid)
            Process.waitpid(@pid)
            break
          end
          sleep 0.02
        end
      rescue Errno::ESRCH, Errno::ECHILD
        nil
      end
      @pid = nil
      FileUtils.rm_rf(@dir)
    end

    private

    def wait_listening
      deadline = monotonic + 15
      loop do
        m = File.exist?(@stdout) && File.read(@stdout).match(LISTENING)
        return m[1] if m

        if Process.waitpid(@pid, Process::WNOHANG)
          @pid = nil
          raise "octostore-lock exited before listening:\n#{logs}"
        end
        raise "octostore-lock did not report listening within 15 s:\n#{logs}" if monotonic > deadline

        sleep 0.02
      end
    end

    def logs
      [@stdout, @stderr].map { |f| "#{File.basename(f)}:\n#{File.exist?(f) ? File.read(f) : ''}" }.join("\n")
    end

    def monotonic
      Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end
  end

  # Servers shared by scenarios with equal server settings, started on first use and
  # stopped when the test run ends.
  module Servers
    @servers = {}
    @mutex = Mutex.new

    def self.for(env)
      @mutex.synchronize { @servers[env.sort.to_h] ||= Server.new(env) }
    end

    def self.stop_all
      @mutex.synchronize do
        @servers.each_value(&:stop)
        @servers.clear
      end
    end
  end
end
