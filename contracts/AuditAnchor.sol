// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

/// @title AuditAnchor
/// @notice Anchors the heads of Trustgate's per-tenant audit hash chains. Each anchor says: "the audit
/// log of `tenant` had `seq` records and its last record's hash was `head`". A verifier recomputes the
/// chain from the database and compares; a database administrator who edits a record and recomputes
/// every later hash cannot also rewrite what was anchored here.
/// @dev `tenant` is keccak256 of the tenant id's UTF-8 bytes. Only the anchor key writes; the owner
/// (the deployer) may rotate the anchor key and hand over ownership. Sequence numbers only grow per
/// tenant, so an anchor can never be replaced or rolled back.
contract AuditAnchor {
  struct Head {
    uint64 seq;
    bytes32 head;
  }

  address public owner;
  address public anchorKey;

  mapping(bytes32 => Head) private latestOf;
  mapping(bytes32 => mapping(uint64 => bytes32)) private headAtSeq;

  event Anchored(bytes32 indexed tenant, uint64 indexed seq, bytes32 head);
  event AnchorKeyChanged(address indexed previousKey, address indexed newKey);
  event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

  error NotOwner();
  error NotAnchorKey();
  error SeqNotIncreasing(uint64 latest, uint64 given);
  error ZeroHead();
  error ZeroAddress();

  constructor(address initialAnchorKey) {
    if (initialAnchorKey == address(0)) revert ZeroAddress();
    owner = msg.sender;
    anchorKey = initialAnchorKey;
    emit OwnershipTransferred(address(0), msg.sender);
    emit AnchorKeyChanged(address(0), initialAnchorKey);
  }

  modifier onlyOwner() {
    if (msg.sender != owner) revert NotOwner();
    _;
  }

  /// @notice Records `head` as the hash of record `seq` of `tenant`'s chain. Anchor key only;
  /// `seq` must be greater than the tenant's latest anchored sequence number.
  function anchor(bytes32 tenant, uint64 seq, bytes32 head) external {
    if (msg.sender != anchorKey) revert NotAnchorKey();
    if (head == bytes32(0)) revert ZeroHead();
    Head storage last = latestOf[tenant];
    if (seq <= last.seq) revert SeqNotIncreasing(last.seq, seq);
    last.seq = seq;
    last.head = head;
    headAtSeq[tenant][seq] = head;
    emit Anchored(tenant, seq, head);
  }

  /// @notice The latest anchored (seq, head) of `tenant`; (0, 0) when none.
  function latest(bytes32 tenant) external view returns (uint64 seq, bytes32 head) {
    Head storage last = latestOf[tenant];
    return (last.seq, last.head);
  }

  /// @notice The head anchored for `tenant` at `seq`; zero when that seq was not anchored.
  function headAt(bytes32 tenant, uint64 seq) external view returns (bytes32) {
    return headAtSeq[tenant][seq];
  }

  /// @notice Rotates the key allowed to anchor. Owner only.
  function setAnchorKey(address newKey) external onlyOwner {
    if (newKey == address(0)) revert ZeroAddress();
    emit AnchorKeyChanged(anchorKey, newKey);
    anchorKey = newKey;
  }

  /// @notice Hands ownership to `newOwner`. Owner only.
  function transferOwnership(address newOwner) external onlyOwner {
    if (newOwner == address(0)) revert ZeroAddress();
    emit OwnershipTransferred(owner, newOwner);
    owner = newOwner;
  }
}
