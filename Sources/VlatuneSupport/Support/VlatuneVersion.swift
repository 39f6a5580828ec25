/// vlatune's version (`vlatune --version`, `doctor`), bumped with each release of the contract.
public enum VlatuneVersion {
  /// The version string.
  public static let current = "0.4.0"
}
