import { describe, expect, it } from 'vitest';
import { selectedPath } from '../src/client/joiner';

// A getStats() report is a maplike of id -> stats dictionary.
function report(entries: Record<string, unknown>[]): RTCStatsReport {
  return new Map(entries.map((e) => [e.id as string, e])) as unknown as RTCStatsReport;
}

describe('selectedPath (the candidate pair shown in the indicator)', () => {
  const local = { id: 'L', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', relayProtocol: 'tls' };
  const remote = { id: 'R', type: 'remote-candidate', candidateType: 'srflx', protocol: 'udp' };
  const hostLocal = { id: 'H', type: 'local-candidate', candidateType: 'host', protocol: 'udp' };

  it("follows the transport's selectedCandidatePairId; a local relay shows its TURN transport", () => {
    const r = report([
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P1' },
      { id: 'P1', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R', state: 'succeeded', nominated: true },
      { id: 'P2', type: 'candidate-pair', localCandidateId: 'H', remoteCandidateId: 'R', state: 'failed' },
      local,
      remote,
      hostLocal,
    ]);
    expect(selectedPath(r)).toEqual({ localType: 'relay', localProtocol: 'tls', remoteType: 'srflx', remoteProtocol: 'udp', relayed: true });
  });

  it('falls back to a nominated succeeded pair, and says null when there is none', () => {
    const pair = { id: 'P', type: 'candidate-pair', localCandidateId: 'H', remoteCandidateId: 'R', state: 'succeeded', nominated: true };
    expect(selectedPath(report([pair, hostLocal, remote]))).toEqual({
      localType: 'host',
      localProtocol: 'udp',
      remoteType: 'srflx',
      remoteProtocol: 'udp',
      relayed: false,
    });
    expect(selectedPath(report([{ ...pair, nominated: false }, hostLocal, remote]))).toBeNull();
  });
});
