# frozen_string_literal: true

# OctoStore: leader election and distributed locking as a service.
#
# The wire client in octostore/generated is generated from openapi.yaml by openapi-generator
# (ruby, typhoeus); the helpers here (Client, Lease, Semaphore, Session, Election) are the
# idiomatic surface:
#
#   client = OctoStore::Client.new("http://127.0.0.1:3000", token: ENV.fetch("OCTOSTORE_TOKEN"))
#   client.with_lock("nightly-report", ttl: 30) do |lease|
#     storage.write(report, fencing_token: lease.fencing_token)
#   end
require 'octostore/generated'
require 'octostore/errors'
require 'octostore/event'
require 'octostore/bounded'
require 'octostore/state'
require 'octostore/lease'
require 'octostore/session'
require 'octostore/semaphore'
require 'octostore/election'
require 'octostore/client'
