// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

/// @title EthereumDIDRegistry
/// @notice Trustgate's implementation of the ERC-1056 lightweight identity registry behind `did:ethr`.
/// @dev Interface-compatible with uport-project/ethr-did-registry 1.x: same functions, parameter names,
///      public getters, events and meta-transaction message layout, so stock `ethr-did-resolver` and
///      `ethr-did` work against it unchanged. Revert reasons are the canonical strings ("bad_actor",
///      "bad_signature") rather than custom errors, which keeps the ABI identical to the canonical one.
///
///      Every change emits one event carrying the block number of the identity's previous change
///      (`previousChange`), so a resolver can walk an identity's history backwards from `changed[identity]`
///      without scanning the whole chain.
contract EthereumDIDRegistry {
  /// @notice Explicit owner of an identity; zero means "the identity owns itself".
  mapping(address => address) public owners;

  /// @notice identity => keccak256(delegateType) => delegate => timestamp until which the delegate is valid.
  mapping(address => mapping(bytes32 => mapping(address => uint256))) public delegates;

  /// @notice Block number of the identity's latest change (0 if never changed).
  mapping(address => uint256) public changed;

  /// @notice Meta-transaction counter, kept per owner (not per identity), as in the canonical registry.
  mapping(address => uint256) public nonce;

  event DIDOwnerChanged(address indexed identity, address owner, uint256 previousChange);

  event DIDDelegateChanged(
    address indexed identity,
    bytes32 delegateType,
    address delegate,
    uint256 validTo,
    uint256 previousChange
  );

  event DIDAttributeChanged(
    address indexed identity,
    bytes32 name,
    bytes value,
    uint256 validTo,
    uint256 previousChange
  );

  // ---------------------------------------------------------------------------------------------------------
  // Views
  // ---------------------------------------------------------------------------------------------------------

  /// @notice The address currently controlling `identity`.
  function identityOwner(address identity) public view returns (address) {
    address explicitOwner = owners[identity];
    return explicitOwner == address(0) ? identity : explicitOwner;
  }

  /// @notice True while `delegate` holds an unexpired `delegateType` delegation for `identity`.
  function validDelegate(address identity, bytes32 delegateType, address delegate) public view returns (bool) {
    return delegates[identity][_delegateKey(delegateType)][delegate] > block.timestamp;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Owner
  // ---------------------------------------------------------------------------------------------------------

  function changeOwner(address identity, address newOwner) public {
    _requireOwner(identity, msg.sender);
    _changeOwner(identity, newOwner);
  }

  function changeOwnerSigned(address identity, uint8 sigV, bytes32 sigR, bytes32 sigS, address newOwner) public {
    _consumeOwnerSignature(identity, sigV, sigR, sigS, abi.encodePacked("changeOwner", newOwner));
    _changeOwner(identity, newOwner);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Delegates
  // ---------------------------------------------------------------------------------------------------------

  function addDelegate(address identity, bytes32 delegateType, address delegate, uint256 validity) public {
    _requireOwner(identity, msg.sender);
    _setDelegate(identity, delegateType, delegate, block.timestamp + validity);
  }

  function addDelegateSigned(
    address identity,
    uint8 sigV,
    bytes32 sigR,
    bytes32 sigS,
    bytes32 delegateType,
    address delegate,
    uint256 validity
  ) public {
    _consumeOwnerSignature(
      identity,
      sigV,
      sigR,
      sigS,
      abi.encodePacked("addDelegate", delegateType, delegate, validity)
    );
    _setDelegate(identity, delegateType, delegate, block.timestamp + validity);
  }

  function revokeDelegate(address identity, bytes32 delegateType, address delegate) public {
    _requireOwner(identity, msg.sender);
    _setDelegate(identity, delegateType, delegate, block.timestamp);
  }

  function revokeDelegateSigned(
    address identity,
    uint8 sigV,
    bytes32 sigR,
    bytes32 sigS,
    bytes32 delegateType,
    address delegate
  ) public {
    _consumeOwnerSignature(identity, sigV, sigR, sigS, abi.encodePacked("revokeDelegate", delegateType, delegate));
    _setDelegate(identity, delegateType, delegate, block.timestamp);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Attributes (event-only: the resolver rebuilds them from logs)
  // ---------------------------------------------------------------------------------------------------------

  function setAttribute(address identity, bytes32 name, bytes calldata value, uint256 validity) public {
    _requireOwner(identity, msg.sender);
    _emitAttribute(identity, name, value, block.timestamp + validity);
  }

  function setAttributeSigned(
    address identity,
    uint8 sigV,
    bytes32 sigR,
    bytes32 sigS,
    bytes32 name,
    bytes calldata value,
    uint256 validity
  ) public {
    _consumeOwnerSignature(identity, sigV, sigR, sigS, abi.encodePacked("setAttribute", name, value, validity));
    _emitAttribute(identity, name, value, block.timestamp + validity);
  }

  function revokeAttribute(address identity, bytes32 name, bytes calldata value) public {
    _requireOwner(identity, msg.sender);
    _emitAttribute(identity, name, value, 0);
  }

  function revokeAttributeSigned(
    address identity,
    uint8 sigV,
    bytes32 sigR,
    bytes32 sigS,
    bytes32 name,
    bytes calldata value
  ) public {
    _consumeOwnerSignature(identity, sigV, sigR, sigS, abi.encodePacked("revokeAttribute", name, value));
    _emitAttribute(identity, name, value, 0);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Authorization
  // ---------------------------------------------------------------------------------------------------------

  function _requireOwner(address identity, address actor) internal view {
    require(actor == identityOwner(identity), "bad_actor");
  }

  /// @dev Verifies that the identity's current owner signed
  ///      0x19 0x00 ‖ registry ‖ nonce[owner] ‖ identity ‖ action
  ///      (the canonical ERC-1056 layout), then consumes the owner's nonce so the signature cannot be replayed.
  ///      The nonce is bound to the owner, so a change of owner also invalidates signatures made by the
  ///      previous owner. ecrecover yields address(0) for malformed signatures; that is refused explicitly,
  ///      otherwise a garbage signature would "prove" ownership of the zero-address identity.
  function _consumeOwnerSignature(
    address identity,
    uint8 sigV,
    bytes32 sigR,
    bytes32 sigS,
    bytes memory action
  ) internal {
    address owner = identityOwner(identity);
    bytes32 digest = keccak256(
      abi.encodePacked(bytes1(0x19), bytes1(0), address(this), nonce[owner], identity, action)
    );
    address signer = ecrecover(digest, sigV, sigR, sigS);
    require(signer != address(0) && signer == owner, "bad_signature");
    nonce[owner] += 1;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Effects: each emits its event with the previous change's block, then records this block.
  // ---------------------------------------------------------------------------------------------------------

  function _changeOwner(address identity, address newOwner) internal {
    owners[identity] = newOwner;
    emit DIDOwnerChanged(identity, newOwner, _recordChange(identity));
  }

  function _setDelegate(address identity, bytes32 delegateType, address delegate, uint256 validTo) internal {
    delegates[identity][_delegateKey(delegateType)][delegate] = validTo;
    emit DIDDelegateChanged(identity, delegateType, delegate, validTo, _recordChange(identity));
  }

  function _emitAttribute(address identity, bytes32 name, bytes calldata value, uint256 validTo) internal {
    emit DIDAttributeChanged(identity, name, value, validTo, _recordChange(identity));
  }

  /// @dev Returns the block of the previous change and stamps the current block as the latest.
  function _recordChange(address identity) internal returns (uint256 previousChange) {
    previousChange = changed[identity];
    changed[identity] = block.number;
  }

  /// @dev The canonical registry keys the delegates mapping by the hash of the delegate type.
  function _delegateKey(bytes32 delegateType) internal pure returns (bytes32) {
    return keccak256(abi.encodePacked(delegateType));
  }
}
